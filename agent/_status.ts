/**
 * The one place that builds a node's status (`strand status`, `GET /v1/status`, the Admin
 * `Status` RPC) and the cluster view (`GET /v1/cluster`: every member asked over its RPC
 * port). Field names are a contract with tools and the web page: add fields, never rename.
 * @module
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  credentials as grpcCredentials,
  makeGenericClientConstructor,
  Metadata,
  type ServiceError as GrpcError,
} from "@grpc/grpc-js";
import type { FileLog } from "../log/mod.ts";
import { adminService } from "../proto/mod.ts";
import type {
  AdminHooks,
  AdminOutcome,
  CommitLog,
  ProducerRef,
  ServedRecord,
} from "../server/mod.ts";
import type { Cluster } from "./_cluster.ts";

/** Monotonic counters of records through this node's API since it started. */
export class RecordCounters {
  /** Records appended through this node (forwarded ones included). */
  recordsProduced = 0;
  /** Records read through this node. */
  recordsConsumed = 0;
}

/** `log` counting records produced and consumed into `counters`. */
export function countingLog(log: CommitLog, counters: RecordCounters): CommitLog {
  return {
    async append(values: Uint8Array[], producer?: ProducerRef) {
      const result = await log.append(values, producer);
      if (result.duplicate !== true) counters.recordsProduced += values.length;
      return result;
    },
    read(offset: number): ServedRecord {
      const record = log.read(offset);
      counters.recordsConsumed++;
      return record;
    },
    readFrom(offset: number, bytesMax: number): ServedRecord[] {
      const records = log.readFrom(offset, bytesMax);
      counters.recordsConsumed += records.length;
      return records;
    },
    firstOffset: () => log.firstOffset(),
    nextOffset: () => log.nextOffset(),
    waitForOffset: (offset, signal) => log.waitForOffset(offset, signal),
  };
}

/** A member as this node sees it in the Raft configuration. */
export interface MemberStatus {
  name: string;
  rpcAddr: string;
  suffrage: "voter" | "learner";
  isLeader: boolean;
  /** The leader's view of the member's last replicated index (null unless this node leads). */
  matchIndex: number | null;
  /** Entries the member is behind the leader's last index (null unless this node leads). */
  lag: number | null;
  /** What gossip says of it ("alive", "suspect", "failed", "left"), null when unknown. */
  gossip: string | null;
}

/** One node's status: the body of `GET /v1/status` and of the Admin `Status` RPC. */
export interface NodeStatus {
  name: string;
  rpcAddr: string;
  httpAddr: string | null;
  role: "leader" | "follower" | "candidate" | "learner" | "unknown";
  term: number;
  leader: { name: string; rpcAddr: string } | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  members: MemberStatus[];
  log: { firstOffset: number; nextOffset: number; bytes: number };
  counters: { recordsProduced: number; recordsConsumed: number };
  version: string;
}

/** What the status is built from. */
export interface StatusSources {
  name: string;
  rpcAddr: () => string;
  httpAddr: () => string | null;
  log: FileLog;
  cluster: Cluster | null;
  counters: RecordCounters;
  version: string;
}

/** Builds this node's status now. */
export function nodeStatus(sources: StatusSources): NodeStatus {
  const stats = sources.log.stats();
  const base = {
    name: sources.name,
    rpcAddr: sources.rpcAddr(),
    httpAddr: sources.httpAddr(),
    log: { firstOffset: stats.firstOffset, nextOffset: stats.nextOffset, bytes: stats.bytes },
    counters: {
      recordsProduced: sources.counters.recordsProduced,
      recordsConsumed: sources.counters.recordsConsumed,
    },
    version: sources.version,
  };
  const cluster = sources.cluster;
  if (cluster === null) {
    // A single node leads its own log; everything written is committed and applied.
    const self: MemberStatus = {
      name: base.name,
      rpcAddr: base.rpcAddr,
      suffrage: "voter",
      isLeader: true,
      matchIndex: stats.lastIndex,
      lag: 0,
      gossip: null,
    };
    return {
      ...base,
      role: "leader",
      term: 0,
      leader: { name: base.name, rpcAddr: base.rpcAddr },
      commitIndex: stats.lastIndex,
      appliedIndex: stats.lastIndex,
      lastIndex: stats.lastIndex,
      members: [self],
    };
  }
  const status = cluster.status();
  const leader = cluster.hooks().leader();
  const learner = status.membership.learners.includes(sources.name);
  const role = status.role === "follower" && learner ? "learner" : status.role;
  return {
    ...base,
    role: isRole(role) ? role : "unknown",
    term: status.term,
    leader: leader === null ? null : { name: leader.id, rpcAddr: leader.rpcAddr },
    commitIndex: status.commitIndex,
    appliedIndex: status.appliedIndex,
    lastIndex: status.lastIndex,
    members: membersOf(cluster, status),
  };
}

function isRole(role: string): role is NodeStatus["role"] {
  return ["leader", "follower", "candidate", "learner"].includes(role);
}

function membersOf(cluster: Cluster, status: ReturnType<Cluster["status"]>): MemberStatus[] {
  const leading = status.role === "leader";
  const followers = new Map(cluster.followers().map((follower) => [follower.id, follower]));
  const gossip = new Map(cluster.gossipMembers().map((member) => [member.name, member.status]));
  return cluster.servers().map((server) => {
    const self = server.id === status.id;
    const match = self ? status.lastIndex : followers.get(server.id)?.match;
    const known = leading && match !== undefined;
    return {
      name: server.id,
      rpcAddr: server.rpcAddr,
      suffrage: status.membership.learners.includes(server.id) ? "learner" : "voter",
      isLeader: server.isLeader,
      matchIndex: known ? match : null,
      lag: known ? Math.max(0, status.lastIndex - match) : null,
      gossip: gossip.get(server.id) ?? null,
    };
  });
}

/** One node in the cluster view (`GET /v1/cluster`). */
export interface ClusterNode {
  name: string;
  rpcAddr: string;
  httpAddr: string | null;
  suffrage: "voter" | "learner";
  role: NodeStatus["role"];
  reachable: boolean;
  error?: string;
  term: number | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  matchIndex: number | null;
  lag: number | null;
  log: NodeStatus["log"] | null;
  counters: NodeStatus["counters"] | null;
  gossip: string | null;
}

/** The cluster view: the body of `GET /v1/cluster`. */
export interface ClusterView {
  time: string;
  leader: { name: string; rpcAddr: string } | null;
  term: number;
  /** The node that assembled the view. */
  askedNode: string;
  nodes: ClusterNode[];
}

type StatusStub = Client & {
  status(
    request: unknown,
    metadata: Metadata,
    options: { deadline: number },
    callback: (error: GrpcError | null, response?: Record<string, unknown>) => void,
  ): void;
};

const AdminStub = makeGenericClientConstructor(adminService, "Admin");
/** Channels kept for the members' status, at most this many (addresses change rarely). */
const stubsMax = 64;

/** Asks members for their status over their RPC ports, one cached channel per address. */
export class StatusFetcher {
  readonly #credentials: ChannelCredentials;
  readonly #channelOptions: ChannelOptions;
  readonly #stubs = new Map<string, StatusStub>();

  constructor(options: { credentials?: ChannelCredentials; channelOptions?: ChannelOptions }) {
    this.#credentials = options.credentials ?? grpcCredentials.createInsecure();
    this.#channelOptions = options.channelOptions ?? {};
  }

  /** The status of the node at `address`, or rejects after `timeoutMs`. */
  fetch(address: string, timeoutMs: number): Promise<NodeStatus> {
    const stub = this.#stubFor(address);
    return new Promise((resolve, reject) => {
      stub.status({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, reply) => {
        if (error === null && reply !== undefined) resolve(reply as unknown as NodeStatus);
        else reject(new Error(error?.details || error?.message || "no answer"));
      });
    });
  }

  #stubFor(address: string): StatusStub {
    let stub = this.#stubs.get(address);
    if (stub !== undefined) return stub;
    if (this.#stubs.size >= stubsMax) this.close();
    const options = {
      "grpc.use_local_subchannel_pool": 1,
      "grpc.enable_http_proxy": 0,
      ...this.#channelOptions,
    };
    stub = new AdminStub(address, this.#credentials, options) as unknown as StatusStub;
    this.#stubs.set(address, stub);
    return stub;
  }

  /** Closes every channel. */
  close(): void {
    for (const stub of this.#stubs.values()) stub.close();
    this.#stubs.clear();
  }
}

/** Per-member timeout of the cluster view: an unreachable member costs at most this. */
export const memberStatusTimeoutMs = 1000;

/** Builds the cluster view: this node's status plus every other member's, asked in parallel. */
export async function clusterView(
  self: NodeStatus,
  fetcher: Pick<StatusFetcher, "fetch">,
  timeoutMs = memberStatusTimeoutMs,
): Promise<ClusterView> {
  const answers = await Promise.all(self.members.map(async (member) => {
    if (member.name === self.name) return { member, status: self, error: null };
    if (member.rpcAddr === "") {
      return { member, status: null, error: "its RPC address is not known yet" };
    }
    try {
      return { member, status: await fetcher.fetch(member.rpcAddr, timeoutMs), error: null };
    } catch (error) {
      return {
        member,
        status: null,
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }));
  // Match index and lag are the leader's knowledge: take them from the leader's own answer.
  const leaderStatus = answers.map((answer) => answer.status)
    .find((status) => status !== null && status.role === "leader") ?? null;
  // Another node's answer is data, not trusted shape: a missing list means no view.
  const leaderMembers = Array.isArray(leaderStatus?.members) ? leaderStatus.members : [];
  const leaderView = new Map(leaderMembers.map((member) => [member.name, member]));
  const nodes = answers.map(({ member, status, error }): ClusterNode => {
    const seen = leaderView.get(member.name);
    const node: ClusterNode = {
      name: member.name,
      rpcAddr: member.rpcAddr,
      httpAddr: status?.httpAddr ?? null,
      suffrage: member.suffrage,
      role: status?.role ?? "unknown",
      reachable: status !== null,
      term: status?.term ?? null,
      commitIndex: status?.commitIndex ?? null,
      appliedIndex: status?.appliedIndex ?? null,
      matchIndex: seen?.matchIndex ?? null,
      lag: seen?.lag ?? null,
      log: status?.log ?? null,
      counters: status?.counters ?? null,
      gossip: member.gossip,
    };
    if (error !== null) node.error = `Cannot reach ${member.name} at ${member.rpcAddr}: ${error}`;
    return node;
  });
  const terms = answers.flatMap((answer) => answer.status === null ? [] : [answer.status.term]);
  return {
    time: new Date().toISOString(),
    leader: leaderStatus?.leader ?? self.leader,
    term: Math.max(self.term, ...terms),
    askedNode: self.name,
    nodes,
  };
}

/** Domain outcomes of cluster changes, in the server's terms. */
function outcomeOf(
  result: { ok: true; result: Record<string, unknown> } | {
    ok: false;
    code: Extract<AdminOutcome, { done: false }>["code"];
    message: string;
  },
): AdminOutcome {
  return result.ok
    ? { done: true, result: result.result }
    : { done: false, code: result.code, message: result.message };
}

/** The admin hooks of a node (status, cluster view, member removal, leadership transfer). */
export function adminHooks(sources: StatusSources, fetcher: StatusFetcher): AdminHooks {
  const notClustered = (what: string): AdminOutcome => ({
    done: false,
    code: "NOT_CLUSTERED",
    message: `Cannot ${what}: this node runs alone (start it with --bootstrap or ` +
      `--start-join-addrs to form a cluster)`,
  });
  return {
    status: () => nodeStatus(sources) as unknown as Record<string, unknown>,
    clusterView: async () =>
      await clusterView(nodeStatus(sources), fetcher) as unknown as Record<string, unknown>,
    async removeMember(name) {
      const cluster = sources.cluster;
      if (cluster === null) return notClustered(`remove ${name}`);
      const result = await cluster.removeMember(name);
      return outcomeOf(
        result.removed
          ? { ok: true, result: { removed: result.name } }
          : { ok: false, code: result.code, message: result.message },
      );
    },
    async transferLeadership(to) {
      const cluster = sources.cluster;
      if (cluster === null) return notClustered("transfer leadership");
      const result = await cluster.transferLeadership(to);
      return outcomeOf(
        result.moved
          ? { ok: true, result: { leader: result.leader } }
          : { ok: false, code: result.code, message: result.message },
      );
    },
  };
}
