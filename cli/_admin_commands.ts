/**
 * The operators' commands: `status`, `remove-member`, `transfer-leadership`, over the
 * `strand.admin.v1.Admin` service with the usual connection settings.
 * @module
 */
import {
  type Client,
  makeGenericClientConstructor,
  Metadata,
  type ServiceError as GrpcError,
  status as GrpcStatus,
} from "@grpc/grpc-js";
import { targetAddresses } from "../client/mod.ts";
import { adminService } from "../proto/mod.ts";
import { LEADER_ADDR_KEY } from "../server/mod.ts";
import {
  CLIENT_OPTIONS_HELP,
  type ClientChannel,
  clientChannel,
  parse,
} from "./_client_commands.ts";
import { describeClientError } from "./_client_errors.ts";
import { CliError } from "./_errors.ts";
import { clusterTable } from "./_status_table.ts";

/** Help text of `status`. */
export const STATUS_HELP = `Usage: strand status [options]

Shows the cluster as the node at --addr sees it: every member with its role, suffrage, term,
commit index, lag behind the leader, log offsets and size. Unreachable members are listed
with the reason. A table on a terminal; --output json prints the GET /v1/cluster document.

Options:
  --output table|json       table (default) or JSON (one document; with --watch one per line)
  --watch                   refresh until Ctrl-C (a failed refresh is reported on stderr
                            and the watch goes on)
  --interval-s N            seconds between refreshes with --watch (default 2)
  --version                 print the version
${CLIENT_OPTIONS_HELP}

Examples:
  strand status --addr 127.0.0.1:8400
  strand status --output json | jq '.nodes[] | {name, role, lag}'
  strand status --watch --interval-s 1
`;

/** Help text of `remove-member`. */
export const REMOVE_MEMBER_HELP = `Usage: strand remove-member [options] NAME

Removes the failed member NAME from the cluster's configuration for good, so the quorum no
longer counts it (a member stopped with SIGTERM leaves by itself). Refused while NAME is
alive: stop it first, or wait until gossip declares it failed. Asked of a follower, the
command goes to the leader. Needs the "admin" action in the ACL.

Options:
  --version                 print the version
${CLIENT_OPTIONS_HELP}

Example:
  strand remove-member n3 --addr 127.0.0.1:8400
`;

/** Help text of `transfer-leadership`. */
export const TRANSFER_LEADERSHIP_HELP = `Usage: strand transfer-leadership [options]

Hands leadership to another voter (--to NAME, else the most up-to-date one) and waits until
it leads, e.g. before maintenance on the leader's machine. Asked of a follower, the command
goes to the leader. Needs the "admin" action in the ACL.

Options:
  --to NAME                 the voter to lead next
  --version                 print the version
${CLIENT_OPTIONS_HELP}

Example:
  strand transfer-leadership --to n2 --addr 127.0.0.1:8400
`;

type AdminStub =
  & Client
  & Record<
    string,
    (
      request: unknown,
      metadata: Metadata,
      options: { deadline: number },
      callback: (error: GrpcError | null, reply?: Record<string, unknown>) => void,
    ) => void
  >;

const AdminClient = makeGenericClientConstructor(adminService, "Admin");

/** Calls `method` at `addr`; resolves with the reply or rejects with the gRPC error. */
function call(
  channel: ClientChannel,
  addr: string,
  method: string,
  request: Record<string, unknown>,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const stub = new AdminClient(addr, channel.credentials, {
    "grpc.enable_http_proxy": 0,
    ...channel.channelOptions,
  }) as unknown as AdminStub;
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    stub[method]!(request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, reply) => {
      if (error === null && reply !== undefined) resolve(reply);
      else reject(error ?? new Error("no answer"));
    });
  }).finally(() => stub.close());
}

/** True for a failure to reach the node at all (no node answered, so another may). */
function unreached(error: unknown): boolean {
  const grpcError = error as Partial<GrpcError>;
  // Not DEADLINE_EXCEEDED: a node that took a change and did not finish it in time answers so,
  // and the change must not be asked of a second node.
  if (grpcError.code !== GrpcStatus.UNAVAILABLE) return false;
  // A node that answered UNAVAILABLE itself names the leader or says why: not a dead address.
  return (grpcError.metadata?.get(LEADER_ADDR_KEY).length ?? 0) === 0 &&
    /No connection established|ECONNREFUSED|connect|Connection dropped/i.test(
      grpcError.details ?? "",
    );
}

/**
 * Calls `method` at the listed members in turn (`--addr a,b,c`) until one answers: an
 * operator with one dead member in the list still gets an answer. Rejects with the first
 * member's error when none answers, or with the error of the first node that answered.
 */
async function callAny(
  channel: ClientChannel,
  method: string,
  request: Record<string, unknown>,
  timeoutMs: number,
): Promise<{ reply: Record<string, unknown>; addr: string }> {
  const addresses = targetAddresses(channel.cluster);
  let firstError: unknown = null;
  for (const addr of addresses) {
    try {
      return { reply: await call(channel, addr, method, request, timeoutMs), addr };
    } catch (error) {
      if (!unreached(error)) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

/**
 * Calls a cluster change at the first listed member that answers; a follower's refusal naming
 * the leader is sent on to the leader once (as produce is forwarded).
 */
async function callLeader(
  channel: ClientChannel,
  method: string,
  request: Record<string, unknown>,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  try {
    return (await callAny(channel, method, request, timeoutMs)).reply;
  } catch (error) {
    const grpcError = error as Partial<GrpcError>;
    const leaderAddr = grpcError.metadata?.get(LEADER_ADDR_KEY)[0];
    const retry = grpcError.code === GrpcStatus.UNAVAILABLE && typeof leaderAddr === "string" &&
      leaderAddr !== "";
    if (!retry) throw error;
    return await call(channel, leaderAddr, method, request, timeoutMs);
  }
}

/** A refusal the node explained (its message says what to do) as a CLI error. */
async function explain(error: unknown, channel: ClientChannel): Promise<CliError> {
  const grpcError = error as Partial<GrpcError>;
  const explained = grpcError.code !== undefined && grpcError.code !== GrpcStatus.UNAVAILABLE &&
    grpcError.code !== GrpcStatus.UNKNOWN && grpcError.code !== GrpcStatus.INTERNAL;
  if (explained && grpcError.details) {
    return new CliError(`${grpcError.details} (${GrpcStatus[grpcError.code!]})`, 1);
  }
  return await describeClientError(error, channel.target);
}

function seconds(text: string | undefined): number {
  if (text === undefined) return 2;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0.1 || value > 3600) {
    throw new CliError(`Cannot use --interval-s=${text}: expected seconds from 0.1 to 3600`);
  }
  return value;
}

/**
 * One cluster view. While watching, a failed refresh (a node restarting) is reported on
 * stderr and yields null, so the watch goes on; otherwise the failure ends the command.
 */
async function refresh(
  channel: ClientChannel,
  watching: boolean,
  stopped: AbortSignal,
): Promise<Record<string, unknown> | null> {
  try {
    return (await callAny(channel, "clusterStatus", {}, 5000)).reply;
  } catch (error) {
    if (!watching || stopped.aborted) throw error;
    console.error(`strand status: ${(await explain(error, channel)).message}`);
    return null;
  }
}

/** `strand status`. */
export async function runStatus(args: string[]): Promise<number> {
  const { values, positionals } = parse("status", args, {
    output: { type: "string" },
    watch: { type: "boolean" },
    "interval-s": { type: "string" },
  });
  if (positionals.length > 0) throw new CliError(`Unexpected argument "${positionals[0]}"`);
  const output = values.output ?? "table";
  if (output !== "table" && output !== "json") {
    throw new CliError(`Cannot use --output=${output}: expected table or json`);
  }
  const intervalMs = seconds(values["interval-s"]) * 1000;
  const channel = await clientChannel(values);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    for (;;) {
      const view = await refresh(channel, values.watch === true, stop.signal);
      if (view !== null && output === "json") {
        console.log(JSON.stringify(view, null, values.watch ? 0 : 2));
      } else if (view !== null) {
        if (values.watch && Deno.stdout.isTerminal()) console.log("\x1b[2J\x1b[H");
        console.log(clusterTable(view));
      }
      if (!values.watch) return 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        stop.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
      if (stop.signal.aborted) return 0;
    }
  } catch (error) {
    if (stop.signal.aborted) return 0;
    throw await explain(error, channel);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

/** `strand remove-member NAME`. */
export async function runRemoveMember(args: string[]): Promise<number> {
  const { values, positionals } = parse("remove-member", args, {});
  if (positionals.length !== 1) {
    throw new CliError("Name the one member to remove (see strand remove-member --help)");
  }
  const name = positionals[0]!;
  const channel = await clientChannel(values);
  try {
    await callLeader(channel, "removeMember", { name }, 15_000);
    console.log(`Removed ${name} from the cluster`);
    return 0;
  } catch (error) {
    throw await explain(error, channel);
  }
}

/** `strand transfer-leadership [--to NAME]`. */
export async function runTransferLeadership(args: string[]): Promise<number> {
  const { values, positionals } = parse("transfer-leadership", args, { to: { type: "string" } });
  if (positionals.length > 0) throw new CliError(`Unexpected argument "${positionals[0]}"`);
  const channel = await clientChannel(values);
  try {
    const reply = await callLeader(
      channel,
      "transferLeadership",
      values.to ? { to: values.to } : {},
      15_000,
    );
    console.log(`${String(reply.leader)} leads now`);
    return 0;
  } catch (error) {
    throw await explain(error, channel);
  }
}
