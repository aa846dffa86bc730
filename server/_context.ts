/**
 * Per-server state shared by the handlers: dependencies with defaults, the shutting-down
 * flag, and the streams to end on shutdown.
 * @module
 */
import type {
  Action,
  Authorize,
  ClusterHooks,
  CommitLog,
  Logger,
  RequestObserver,
  ServerInfo,
} from "./_types.ts";
import { serviceError } from "./_errors.ts";
import type { ConnectionStats } from "./_conn_limits.ts";
import { appendBytesInFlightMaxDefault, withAppendAdmission } from "./_admission.ts";
import { type ServiceDeps, silentLogger } from "./_types.ts";

/** What every handler shares: dependencies with defaults filled in, and the shutdown state. */
export class ServiceContext {
  /** The log being served. */
  readonly log: CommitLog;
  /** Where handlers log. */
  readonly logger: Logger;
  /** The ACL hook. */
  readonly authorize: Authorize;
  /** The per-request observer. */
  readonly observe: RequestObserver;
  /** The cluster's members for GetServers. */
  readonly servers: () => ServerInfo[] | Promise<ServerInfo[]>;
  /** The cluster behind the log, or null on a single node. */
  readonly cluster: ClusterHooks | null;
  /** Consume streams now waiting for their client to read what they already wrote. */
  streamsWaitingForClient = 0;
  /** Connection counts of the node's listeners by name ("rpc", "http"), for metrics. */
  readonly connectionStats = new Map<string, ConnectionStats>();
  /** Requests refused because their bytes were no valid protobuf message. */
  malformedRequests = 0;
  readonly #shutdown = new AbortController();

  /** `self` reports this node for GetServers when `deps.servers` is absent. */
  constructor(deps: ServiceDeps, self: () => ServerInfo[]) {
    this.log = withAppendAdmission(
      deps.log,
      deps.appendBytesInFlightMax ?? appendBytesInFlightMaxDefault,
    );
    this.logger = deps.logger ?? silentLogger;
    this.authorize = deps.authorize ?? (() => true);
    this.observe = deps.observe ?? (() => {});
    this.servers = deps.servers ?? self;
    this.cluster = deps.cluster ?? null;
  }

  /** Aborts when the server starts shutting down. */
  get shutdownSignal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** Whether shutdown has begun. */
  get closing(): boolean {
    return this.#shutdown.signal.aborted;
  }

  /** Marks the server as shutting down: new requests get UNAVAILABLE, streams end. */
  beginShutdown(): void {
    this.#shutdown.abort();
  }

  /** Throws UNAVAILABLE while shutting down, PERMISSION_DENIED when the ACL says no. */
  async admit(subject: string, action: Action): Promise<void> {
    if (this.closing) throw serviceError("UNAVAILABLE", "The server is shutting down");
    if (!(await this.authorize(subject, action))) {
      const who = subject === "" ? "an anonymous client" : `"${subject}"`;
      throw serviceError("PERMISSION_DENIED", `Cannot ${action}: ${who} is not allowed to`);
    }
  }
}
