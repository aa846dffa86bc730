/**
 * The `strand:` name resolver (the book's chapter 9 resolver, for grpc-js): asks `GetServers`
 * of any reachable member and hands the channel every member's RPC address, with who leads, to
 * the `strand_leader` balancer. It resolves again when the channel asks (a connection dropped, a
 * call failed with UNAVAILABLE), soon while the cluster reports no leader, and periodically.
 * @module
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  experimental,
  makeGenericClientConstructor,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { logService, type ServerMessage } from "../proto/mod.ts";
import { splitAddress, STRAND_SCHEME, targetAddresses } from "./_target.ts";

/** Channel option (excluded from subchannel options by its prefix) carrying the {@linkcode ResolverConfig}. */
export const RESOLVER_CONFIG_KEY =
  `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.strand_config`;
/** Resolver attribute with the {@linkcode Member} list, read by the balancer. */
export const MEMBERS_KEY = `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.strand_members`;
/** Pick information key holding the call's full method name ("/log.v1.Log/Produce"). */
export const METHOD_KEY = "strand-method";
/** The balancer's registered name. */
export const BALANCER_NAME = "strand_leader";

/** A member as the balancer sees it. */
export interface Member {
  /** Its name (GetServers' `id`). */
  readonly id: string;
  /** Its RPC address "host:port". */
  readonly addr: string;
  readonly isLeader: boolean;
}

/** What a resolver needs beyond the target: how to dial members, how often to refresh. */
export interface ResolverConfig {
  readonly credentials: ChannelCredentials;
  /** Options of the resolver's own GetServers connections. */
  readonly channelOptions: ChannelOptions;
  /** Resolve again at least this often (bounded: one resolution at a time). */
  readonly refreshIntervalMs: number;
  /** How long one member may take to answer GetServers. */
  readonly resolveTimeoutMs: number;
  /** Called after every successful resolution (the client learns the cluster was reached). */
  readonly onResolved?: (members: Member[]) => void;
}

// deno-lint-ignore no-explicit-any
type Stub = Client & { getServers(request: unknown, options: unknown, cb: any): void };
const LogStub = makeGenericClientConstructor(logService, "Log");

/** Shortest gap between two resolutions started one after the other. */
const gapMs = 100;
/** While the cluster reports no leader, resolve again after this (an election is short). */
const noLeaderRetryMs = 250;
/** After a resolution that reached nobody, retry after this, doubling up to the max. */
const failureRetryMs = { first: 250, max: 2_000 };

/** Passes the call's method name to the picker (grpc-js gives pickers only pick information). */
const methodSelector: experimental.ConfigSelector = {
  invoke(methodName: string) {
    return {
      methodConfig: { name: [] },
      pickInformation: { [METHOD_KEY]: methodName },
      status: status.OK,
      dynamicFilterFactories: [],
    };
  },
  unref() {},
};

const serviceConfig = {
  loadBalancingConfig: [{ [BALANCER_NAME]: {} }],
  methodConfig: [],
};

function getServers(stub: Stub, timeoutMs: number): Promise<ServerMessage[]> {
  return new Promise((resolve, reject) => {
    stub.getServers(
      {},
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null, value?: { servers: ServerMessage[] }) =>
        error ? reject(error) : resolve(value?.servers ?? []),
    );
  });
}

/** Members with usable addresses, in the order reported; `asked` stands in for an unset one. */
export function membersOf(servers: ServerMessage[], asked: string): Member[] {
  const members: Member[] = [];
  for (const server of servers) {
    const addr = server.rpcAddr === "" ? asked : server.rpcAddr;
    try {
      splitAddress(addr);
    } catch {
      continue;
    }
    if (members.some((member) => member.addr === addr)) continue;
    members.push({ id: server.id, addr, isLeader: server.isLeader });
  }
  return members;
}

class StrandResolver implements experimental.Resolver {
  readonly #seeds: string[];
  readonly #listener: experimental.ResolverListener;
  readonly #config: ResolverConfig;
  readonly #stubs = new Map<string, Stub>();
  #members: Member[] = [];
  #running = false;
  #again = false;
  #destroyed = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #lastStartMs = 0;
  #failures = 0;

  constructor(
    target: experimental.GrpcUri,
    listener: experimental.ResolverListener,
    options: ChannelOptions,
  ) {
    this.#seeds = targetAddresses(target.path);
    this.#listener = listener;
    const config = options[RESOLVER_CONFIG_KEY] as ResolverConfig | undefined;
    if (config === undefined) {
      throw new Error(`Cannot resolve ${STRAND_SCHEME}: targets outside StrandClient`);
    }
    this.#config = config;
  }

  /** The authority (and, under TLS, the server name) is the first listed host. */
  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return targetAddresses(target.path)[0]!;
  }

  updateResolution(): void {
    this.#destroyed = false;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(Math.max(0, this.#lastStartMs + gapMs - Date.now()));
  }

  destroy(): void {
    this.#destroyed = true;
    this.#clearTimer();
    for (const stub of this.#stubs.values()) stub.close();
    this.#stubs.clear();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** One pending timer at most: the earliest wanted resolution wins. */
  #schedule(delayMs: number): void {
    this.#clearTimer();
    const timer = setTimeout(() => {
      this.#timer = null;
      void this.#resolve();
    }, delayMs);
    // A periodic refresh never keeps the process alive; a wanted resolution soon does.
    if (delayMs > gapMs) Deno.unrefTimer(timer as unknown as number);
    this.#timer = timer;
  }

  /** Leader first, then other known members, then the target's addresses. */
  #candidates(): string[] {
    const known = [...this.#members].sort((a, b) => Number(b.isLeader) - Number(a.isLeader));
    return [...new Set([...known.map((member) => member.addr), ...this.#seeds])];
  }

  #stub(addr: string): Stub {
    let stub = this.#stubs.get(addr);
    if (stub === undefined) {
      stub = new LogStub(addr, this.#config.credentials, {
        "grpc.use_local_subchannel_pool": 1,
        ...this.#config.channelOptions,
      }) as unknown as Stub;
      this.#stubs.set(addr, stub);
    }
    return stub;
  }

  async #resolve(): Promise<void> {
    if (this.#destroyed || this.#running) return;
    this.#running = true;
    this.#lastStartMs = Date.now();
    let nextMs = this.#config.refreshIntervalMs;
    try {
      const found = await this.#ask();
      if (this.#destroyed) return;
      if (found.ok) {
        this.#failures = 0;
        this.#report(found.members);
        if (!found.members.some((member) => member.isLeader)) nextMs = noLeaderRetryMs;
      } else {
        this.#failures++;
        nextMs = Math.min(failureRetryMs.max, failureRetryMs.first * 2 ** (this.#failures - 1));
        // With members already known the channel keeps them; only a first failure is reported.
        if (this.#members.length === 0) {
          this.#listener(
            {
              ok: false,
              error: { code: status.UNAVAILABLE, details: found.why, metadata: new Metadata() },
            },
            {},
            null,
            found.why,
          );
        }
      }
    } finally {
      this.#running = false;
    }
    if (this.#destroyed) return;
    if (this.#again) {
      this.#again = false;
      nextMs = Math.min(nextMs, gapMs);
    }
    this.#schedule(nextMs);
  }

  async #ask(): Promise<{ ok: true; members: Member[] } | { ok: false; why: string }> {
    const failures: string[] = [];
    for (const addr of this.#candidates()) {
      try {
        const members = membersOf(
          await getServers(this.#stub(addr), this.#config.resolveTimeoutMs),
          addr,
        );
        if (members.length > 0) return { ok: true, members };
        failures.push(`${addr}: it listed no member`);
      } catch (error) {
        const failure = error as ServiceError;
        failures.push(`${addr}: ${failure.details ?? failure.message}`);
      }
    }
    return { ok: false, why: `Cannot reach any server of the cluster (${failures.join("; ")})` };
  }

  #report(members: Member[]): void {
    this.#members = members;
    // Connections to members no longer listed (and not in the target) are closed.
    const keep = new Set(this.#candidates());
    for (const [addr, stub] of this.#stubs) {
      if (!keep.has(addr)) {
        stub.close();
        this.#stubs.delete(addr);
      }
    }
    const endpoints = members.map((member) => ({ addresses: [splitAddress(member.addr)] }));
    this.#listener(
      { ok: true, value: endpoints },
      {
        [MEMBERS_KEY]: members,
        [experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: methodSelector,
      },
      { ok: true, value: serviceConfig },
      "",
    );
    this.#config.onResolved?.(members);
  }
}

let registered = false;

/** Registers the `strand:` resolver with grpc-js (once per process). */
export function registerStrandResolver(): void {
  if (registered) return;
  experimental.registerResolver(STRAND_SCHEME, StrandResolver);
  registered = true;
}
