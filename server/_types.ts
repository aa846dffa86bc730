/**
 * What the server needs from the rest of the node, declared where it is used (proglog's
 * `server.CommitLog`): the agent supplies a local log or Raft behind the same interface.
 * @module
 */

/** A record as the server hands it to clients. */
export interface ServedRecord {
  /** The record's bytes. */
  readonly value: Uint8Array;
  /** Its offset, dense from 0. */
  readonly offset: number;
  /** Raft term of the entry that holds it (0 without Raft). */
  readonly term: number;
}

/**
 * What an append did, as the produce answer reports it. Fields a log does not report are
 * answered as 0/false (nothing is claimed that the log did not say).
 */
export interface AppendAck {
  /** Offset of the batch's first record. */
  readonly baseOffset: number;
  /** Replicas that had the records fsynced when the append resolved (0 when not synced). */
  readonly replicasFsynced?: number;
  /** The Raft commit index when the append resolved (absent on a standalone node). */
  readonly commitIndex?: number;
  /** Whether the records were fsynced before the append resolved. */
  readonly durable?: boolean;
  /**
   * True when the batch had been appended before under the same producer and sequence:
   * nothing was appended now, `baseOffset` and `count` are the original append's.
   */
  readonly duplicate?: boolean;
  /** Records of the original append (set with `duplicate`; otherwise the batch's own count). */
  readonly count?: number;
}

/**
 * The producer a batch comes from and its number: a batch carrying one is appended at most
 * once (see docs/exactly-once.md).
 */
export interface ProducerRef {
  /** The producer's id (1 to 128 UTF-8 bytes). */
  readonly id: string;
  /** The batch's sequence within the producer (a safe integer). */
  readonly sequence: number;
}

/**
 * The log the server serves. Errors are thrown or rejected as objects with a string `code`
 * (the log's `LogError` codes: "OFFSET_OUT_OF_RANGE", "TOO_LARGE", "INVALID_ARGUMENT",
 * "CLOSED", …; a cluster adds "NOT_LEADER"); only the server maps them to gRPC/HTTP status.
 */
export interface CommitLog {
  /**
   * Appends a batch atomically; resolves with the first record's offset once acknowledged
   * (durable under fsync `always`), and what was done ({@linkcode AppendAck}). With
   * `producer`, a batch already appended under it is answered as a duplicate; a sequence out
   * of order or older than the log remembers rejects with code `OUT_OF_SEQUENCE`.
   */
  append(values: Uint8Array[], producer?: ProducerRef): Promise<AppendAck>;
  /** Reads one readable record; throws `OFFSET_OUT_OF_RANGE` outside [first, next). */
  read(offset: number): ServedRecord;
  /** Records from `offset` on, stopping before `bytesMax` would be passed (at least one). */
  readFrom(offset: number, bytesMax: number): ServedRecord[];
  /** First readable offset (moves up with retention). */
  firstOffset(): number;
  /** Offset after the last readable record (the high watermark in a cluster). */
  nextOffset(): number;
  /**
   * Resolves once `nextOffset() > offset`, or when `signal` aborts, or the log closes —
   * woken by appends, never by polling. Callers re-check the condition.
   */
  waitForOffset(offset: number, signal: AbortSignal): Promise<void>;
}

/** Structured logger (observe/ provides the real one). */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Normal operation (start, stop). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something an operator should look at. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A request or task failed unexpectedly. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a request wants to do, for authorization (the book's ACL actions). */
export type Action = "produce" | "consume" | "admin";

/**
 * Decides whether `subject` (the client certificate's common name, "" when anonymous) may
 * perform `action`. The default allows everything.
 */
export type Authorize = (subject: string, action: Action) => boolean | Promise<boolean>;

/** One finished request, for metrics and tracing. */
export interface RequestEvent {
  /** Which server handled it. */
  readonly transport: "grpc" | "http";
  /** gRPC method name ("Produce") or HTTP route ("POST /v1/records"). */
  readonly method: string;
  /** gRPC status name ("OK", "OUT_OF_RANGE") or HTTP status code as a string. */
  readonly status: string;
  /** From the request's arrival to its last byte (streams: their whole life). */
  readonly durationMs: number;
}

/** Called once per finished request (streams: when the stream ends). */
export type RequestObserver = (event: RequestEvent) => void;

/** A member of the cluster, as `GetServers` reports it. */
export interface ServerInfo {
  /** The node's name. */
  readonly id: string;
  /** Its gRPC address (host:port). */
  readonly rpcAddr: string;
  /** Whether it leads the cluster (a single node always does). */
  readonly isLeader: boolean;
}

/** The leader of a cluster, as clients are told it in redirect hints. */
export interface LeaderInfo {
  /** Its node name. */
  readonly id: string;
  /** Its gRPC address (host:port), "" when not known yet. */
  readonly rpcAddr: string;
}

/** What the server needs of a cluster beyond the {@linkcode CommitLog} (absent: one node). */
export interface ClusterHooks {
  /**
   * A linearizable read barrier (ReadIndex): resolves once this replica has applied everything
   * committed anywhere when it was called, so "offset not written yet" is true cluster-wide.
   * Rejects (with a code such as `NO_LEADER`) when no leader confirms it.
   */
  readBarrier(): Promise<void>;
  /** The leader this node believes in, or null. */
  leader(): LeaderInfo | null;
  /**
   * Appends only if this node leads (never forwards): serves a produce another node forwarded
   * here, so a stale belief about the leader can never bounce a request around the cluster.
   */
  appendHere(values: Uint8Array[], producer?: ProducerRef): Promise<AppendAck>;
}

/** Metadata key a node sets on a produce it forwards to the leader. */
export const FORWARDED_METADATA_KEY = "strand-forwarded";
/** gRPC trailing metadata and HTTP header naming the leader's id on retryable failures. */
export const LEADER_ID_KEY = "strand-leader-id";
/** gRPC trailing metadata and HTTP header naming the leader's RPC address. */
export const LEADER_ADDR_KEY = "strand-leader-addr";

/** Dependencies shared by the gRPC and HTTP servers. */
export interface ServiceDeps {
  /** The log to serve. */
  readonly log: CommitLog;
  /** Default: {@linkcode silentLogger}. */
  readonly logger?: Logger;
  /** Default: allow everything. */
  readonly authorize?: Authorize;
  /** Default: none. */
  readonly observe?: RequestObserver;
  /** The cluster's members for `GetServers`; a single node reports itself. */
  readonly servers?: () => ServerInfo[] | Promise<ServerInfo[]>;
  /** Present when the node is part of a Raft cluster. */
  readonly cluster?: ClusterHooks;
  /**
   * Bytes of appends accepted but not yet acknowledged by the log, across all requests,
   * past which new appends get UNAVAILABLE / HTTP 503 (`OVERLOADED`). Default 64 MiB.
   */
  readonly appendBytesInFlightMax?: number;
}

/** A logger that drops everything (the default). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Why an admin action made no change; each maps to a deliberate gRPC/HTTP status. */
export type AdminRefusalCode =
  | "NOT_LEADER"
  | "NO_LEADER"
  | "CHANGE_PENDING"
  | "TRANSFER_IN_PROGRESS"
  | "UNKNOWN_OUTCOME"
  | "NOT_MEMBER"
  | "MEMBER_ALIVE"
  | "NOT_CLUSTERED"
  | "INVALID_ARGUMENT"
  | "INVALID_CHANGE"
  | "OVERLOADED"
  | "TOO_LARGE"
  | "STORAGE_FAILED";

/** The outcome of an admin action: done (with what to report) or refused with a reason. */
export type AdminOutcome =
  | { readonly done: true; readonly result: Record<string, unknown> }
  | { readonly done: false; readonly code: AdminRefusalCode; readonly message: string };

/** The operator's view and controls of a node (agent/ provides them). */
export interface AdminHooks {
  /** This node's status (a JSON object; see docs/cli.md). */
  status(): Record<string, unknown>;
  /** Every member's status, asked over the RPC port (see docs/cli.md, `GET /v1/cluster`). */
  clusterView(): Promise<Record<string, unknown>>;
  /** Removes a failed member from the configuration. */
  removeMember(name: string): Promise<AdminOutcome>;
  /** Hands leadership to `to`, or to the most up-to-date voter when null. */
  transferLeadership(to: string | null): Promise<AdminOutcome>;
}
