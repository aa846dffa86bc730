/**
 * The standard gRPC health service (`grpc.health.v1.Health`): NOT_SERVING while starting and
 * shutting down, SERVING in between. Serves the whole server ("") and "log.v1.Log".
 * @module
 */
import { type ServerUnaryCall, type ServerWritableStream, status } from "@grpc/grpc-js";
import type { sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { type HealthCheckRequest, type HealthCheckResponse, ServingStatus } from "../proto/mod.ts";

const knownServices = new Set(["", "log.v1.Log"]);

/** The node's serving status, with listeners for Watch streams and readiness probes. */
export class HealthState {
  #status: ServingStatus = ServingStatus.NOT_SERVING;
  readonly #listeners = new Set<(status: ServingStatus) => void>();

  /** Current status. */
  get status(): ServingStatus {
    return this.#status;
  }

  /** Changes the status and tells every watcher. */
  set(next: ServingStatus): void {
    if (next === this.#status) return;
    this.#status = next;
    for (const listener of [...this.#listeners]) listener(next);
  }

  /** Calls `listener` on each change until the returned function is called. */
  subscribe(listener: (status: ServingStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
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
