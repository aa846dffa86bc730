/**
 * The standard gRPC health service (`grpc.health.v1.Health`): NOT_SERVING while starting and
 * shutting down, and while the log refuses every write (a failed write or fsync stops a file
 * log: disk full, I/O error); SERVING otherwise. Serves the whole server ("") and "log.v1.Log".
 * `/readyz` reports the same state, with the reason.
 * @module
 */
import { type ServerUnaryCall, type ServerWritableStream, status } from "@grpc/grpc-js";
import type { sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { type HealthCheckRequest, type HealthCheckResponse, ServingStatus } from "../proto/mod.ts";
import type { CommitLog } from "./_types.ts";

const knownServices = new Set(["", "log.v1.Log"]);

/** The node's serving status, with listeners for Watch streams and readiness probes. */
export class HealthState {
  #status: ServingStatus = ServingStatus.NOT_SERVING;
  /** Why the last append failed on the log's side (null once one succeeds again). */
  #writeFailure: string | null = null;
  readonly #listeners = new Set<(status: ServingStatus) => void>();

  /** Current status: NOT_SERVING while the log fails writes, even between start and stop. */
  get status(): ServingStatus {
    if (this.#status === ServingStatus.SERVING && this.#writeFailure !== null) {
      return ServingStatus.NOT_SERVING;
    }
    return this.#status;
  }

  /**
   * Whether the node takes traffic, and if not, why (for `/readyz`). A failed write is the
   * more telling reason: a cluster member whose disk failed also stops being ready as a member.
   */
  readiness(): { ready: boolean; reason?: string } {
    if (this.#writeFailure !== null) return { ready: false, reason: this.#writeFailure };
    if (this.#status !== ServingStatus.SERVING) {
      return { ready: false, reason: "The node is starting or shutting down" };
    }
    return { ready: true };
  }

  /** Changes the status and tells every watcher. */
  set(next: ServingStatus): void {
    this.#change(() => this.#status = next);
  }

  /** Records that the log failed an append on its own side (not the client's). */
  writeFailed(reason: string): void {
    this.#change(() => this.#writeFailure = reason);
  }

  /** Records that an append succeeded: the log takes writes. */
  writeSucceeded(): void {
    if (this.#writeFailure !== null) this.#change(() => this.#writeFailure = null);
  }

  #change(update: () => void): void {
    const before = this.status;
    update();
    const after = this.status;
    if (after === before) return;
    for (const listener of [...this.#listeners]) listener(after);
  }

  /** Calls `listener` on each change until the returned function is called. */
  subscribe(listener: (status: ServingStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Codes for which an append failed because of the request or a passing condition, not because
 * the log cannot write: they leave readiness alone.
 */
const notLogFailures = new Set([
  "TOO_LARGE",
  "INVALID_ARGUMENT",
  "OVERLOADED",
  "PERMISSION_DENIED",
  "NOT_LEADER",
  "UNAVAILABLE",
  "CLIENT_CLOSED",
  // A producer's batch refused for its sequence, and the leader's refusals passed through.
  "OUT_OF_SEQUENCE",
  "FORWARDED",
]);

/**
 * `log` with its append outcomes reported to `health`: a failure on the log's side (a file
 * log that stopped after a failed write or fsync answers every later append with CLOSED)
 * makes the node not ready until an append succeeds again. (CLOSED at shutdown counts too,
 * but health is already NOT_SERVING then.)
 */
export function watchWrites(log: CommitLog, health: HealthState): CommitLog {
  return {
    async append(values, producer) {
      try {
        const result = await log.append(values, producer);
        health.writeSucceeded();
        return result;
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (!notLogFailures.has(String(code))) {
          const message = error instanceof Error ? error.message : String(error);
          health.writeFailed(`The log refuses writes: ${message}`);
        }
        throw error;
      }
    },
    read: (offset) => log.read(offset),
    readFrom: (offset, bytesMax) => log.readFrom(offset, bytesMax),
    firstOffset: () => log.firstOffset(),
    nextOffset: () => log.nextOffset(),
    waitForOffset: (offset, signal) => log.waitForOffset(offset, signal),
  };
}

function statusFor(state: HealthState, service: string): ServingStatus {
  return knownServices.has(service) ? state.status : ServingStatus.SERVICE_UNKNOWN;
}

/** grpc-js handlers for the health service over `state`. */
export function healthHandlers(
  state: HealthState,
  shutdown: AbortSignal,
): UntypedServiceImplementation {
  return {
    check(
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) {
      const service = call.request.service ?? "";
      if (!knownServices.has(service)) {
        callback({ code: status.NOT_FOUND, details: `Unknown service "${service}"` });
        return;
      }
      callback(null, { status: state.status });
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const service = call.request.service ?? "";
      let last: ServingStatus = statusFor(state, service);
      call.write({ status: last });
      const unsubscribe = state.subscribe(() => {
        const next = statusFor(state, service);
        if (next === last) return;
        last = next;
        call.write({ status: next });
      });
      // Watchers see NOT_SERVING first (set before the abort), then the stream ends so the
      // server can drain.
      const end = () => call.end();
      shutdown.addEventListener("abort", end, { once: true });
      const stop = () => {
        unsubscribe();
        shutdown.removeEventListener("abort", end);
      };
      call.on("cancelled", stop);
      call.on("close", stop);
      call.on("error", stop);
      if (shutdown.aborted) end();
    },
  };
}
