/**
 * One node's service: the shared context and health behind both the gRPC and HTTP servers.
 * @module
 */
import { ServingStatus } from "../proto/mod.ts";
import { ServiceContext } from "./_context.ts";
import { HealthState, watchWrites } from "./_health.ts";
import type { AdminHooks, ServerInfo, ServiceDeps } from "./_types.ts";

/**
 * The state both servers share. Health starts NOT_SERVING; the owner calls
 * {@linkcode Service.setServing} once everything listens, and {@linkcode Service.beginShutdown}
 * first when stopping (health flips to NOT_SERVING, new requests get UNAVAILABLE, tailing
 * streams end).
 */
export class Service {
  /** Dependencies, defaults and the shutting-down state the handlers share. */
  readonly context: ServiceContext;
  /** Serving status for health checks and readiness probes. */
  readonly health = new HealthState();
  /** Address `GetServers` reports for this node when `deps.servers` is not given. */
  rpcAddr = "";
  /** The operator's view and controls (status, member removal); null until the owner sets it. */
  admin: AdminHooks | null = null;
  readonly #nodeId: string;

  /** `nodeId` names this node in `GetServers` when `deps.servers` is not given. */
  constructor(deps: ServiceDeps, options: { nodeId?: string } = {}) {
    this.#nodeId = options.nodeId ?? "strand";
    // Readiness follows the log: appends that fail on the log's side make the node not ready.
    const log = watchWrites(deps.log, this.health);
    this.context = new ServiceContext({ ...deps, log }, () => this.#self());
  }

  #self(): ServerInfo[] {
    return [{ id: this.#nodeId, rpcAddr: this.rpcAddr, isLeader: true }];
  }

  /** Reports SERVING on health checks and readiness probes. */
  setServing(): void {
    if (!this.context.closing) this.health.set(ServingStatus.SERVING);
  }

  /** Readiness that may come and go (a cluster member without a leader is not ready). */
  setReady(ready: boolean): void {
    if (ready) this.setServing();
    else if (!this.context.closing) this.health.set(ServingStatus.NOT_SERVING);
  }

  /** Stops admitting requests and ends tailing streams; servers then drain and close. */
  beginShutdown(): void {
    this.health.set(ServingStatus.NOT_SERVING);
    this.context.beginShutdown();
  }
}
