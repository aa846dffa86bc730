/**
 * The per-request hook the server calls: one `start` when a request arrives, one `end` when
 * it is answered. It turns that into a span, the request metrics and the request log lines.
 * @module
 */

import { type Context, context, SpanStatusCode } from "@opentelemetry/api";
import type { LogFields, Logger, StructuredLogger } from "./_logger.ts";
import type { Metrics, Transport } from "./_metrics.ts";
import { currentRequestScope } from "./_request_scope.ts";
import {
  contextFromGrpcMetadata,
  contextFromHttpHeaders,
  type GrpcMetadata,
  type HttpHeaders,
  markFailed,
  startRequestSpan,
  traceIdOf,
} from "./_tracing.ts";

/** What the server knows when a request arrives. */
export interface RequestStart {
  /** Which front door the request came through. */
  readonly transport: Transport;
  /** RPC name (`Produce`) or route (`POST /v1/records`). */
  readonly method: string;
  /** The authenticated client (mTLS certificate subject), if any. */
  readonly subject?: string;
  /** Incoming HTTP headers, to continue the caller's `traceparent`. */
  readonly headers?: HttpHeaders;
  /** Incoming gRPC metadata, to continue the caller's `traceparent`. */
  readonly metadata?: GrpcMetadata;
  /**
   * A long-lived stream (ConsumeStream, ProduceStream, an HTTP tail): counted in
   * `strand_open_streams` until it ends, and never reported as slow.
   */
  readonly stream?: boolean;
}

/** How a request ended. */
export interface RequestEnd {
  /** gRPC status (code number or name, e.g. 0 / `OK`) or HTTP status code. */
  readonly status: number | string;
  /** The error behind a failed status, logged and recorded on the span. */
  readonly error?: unknown;
}

/** One finished request, for {@linkcode RequestObserver.record} (the server's hook shape). */
export interface RequestEvent {
  /** Which front door the request came through. */
  readonly transport: Transport;
  /** RPC name (`Produce`) or route (`POST /v1/records`). */
  readonly method: string;
  /** gRPC status (code number or name) or HTTP status code. */
  readonly status: number | string;
  /** From arrival to response, in milliseconds. */
  readonly durationMs: number;
  /** Default: the subject the request decorators put in scope ("" when anonymous). */
  readonly subject?: string;
  /**
   * A long-lived stream, never reported as slow. Default: what the request decorators put in
   * scope, else whether the method name ends in "Stream".
   */
  readonly stream?: boolean;
  /** The error behind a failed status, logged with the warn line. */
  readonly error?: unknown;
  /** The request's trace, to correlate the log line with its spans; default: the active one. */
  readonly traceId?: string;
}

/** One request in flight. */
export interface ObservedRequest {
  /** The request's trace context: run the handler in it so child spans attach. */
  readonly context: Context;
  /** Runs `work` with the request's context active. */
  run<T>(work: () => T): T;
  /** Records the outcome; only the first call counts. */
  end(outcome: RequestEnd): void;
}

/** Options of {@linkcode RequestObserver}. */
export interface RequestObserverOptions {
  /** Where request lines go (debug per request, warn for failed and slow ones). */
  readonly logger: Logger;
  /** Where request counts and latencies go. */
  readonly metrics: Metrics;
  /** Requests slower than this are logged at warn; default 1 s. Streams are exempt. */
  readonly slowRequestSeconds?: number;
  /** Monotonic clock in milliseconds; default `performance.now`. */
  readonly nowMs?: () => number;
}

/** gRPC status names by code (grpc-js reports numbers). */
const grpcStatusNames = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];
/** Statuses that mean the server failed (OpenTelemetry's rule for gRPC server spans). */
const grpcServerFailures = new Set([
  "UNKNOWN",
  "DEADLINE_EXCEEDED",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
]);

/** The metric label of a status: gRPC status names, HTTP codes as decimal text. */
export function statusLabel(transport: Transport, status: number | string): string {
  if (typeof status === "string") return status;
  if (transport === "grpc") return grpcStatusNames[status] ?? String(status);
  return String(status);
}

/**
 * The caller's context from the request's headers or metadata. (With OTEL_DENO=true Deno also
 * records its own "POST" server span for node:http and HTTP/2 requests; it is not active in
 * the handler, so it and the request span are siblings under the caller's span.)
 */
function parentContext(request: RequestStart): Context {
  if (request.headers !== undefined) return contextFromHttpHeaders(request.headers);
  if (request.metadata !== undefined) return contextFromGrpcMetadata(request.metadata);
  return context.active();
}

function isServerFailure(transport: Transport, status: string): boolean {
  return transport === "grpc" ? grpcServerFailures.has(status) : Number(status) >= 500;
}

/**
 * Observes requests for the server: a span continuing the caller's `traceparent`, the
 * request counter and latency histogram, a debug line per request, a warn line per failed or
 * slow request.
 *
 * @example
 * ```ts
 * const observer = new RequestObserver({ logger, metrics });
 * const request = observer.start({ transport: "http", method: "POST /v1/records", headers });
 * try {
 *   const response = await request.run(() => handle(req));
 *   request.end({ status: response.status });
 * } catch (error) {
 *   request.end({ status: 500, error });
 * }
 * ```
 */
export class RequestObserver {
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #slowMs: number;
  readonly #nowMs: () => number;
  readonly #debugEnabled: boolean;

  /** Creates an observer writing to `options.logger` and `options.metrics`. */
  constructor(options: RequestObserverOptions) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#slowMs = (options.slowRequestSeconds ?? 1) * 1000;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    const logger = options.logger as Partial<StructuredLogger>;
    this.#debugEnabled = typeof logger.enabled === "function" ? logger.enabled("debug") : true;
  }

  /**
   * Records one finished request: metrics and log lines, no span. This is the server's
   * after-the-fact hook (`observe: requests.record`); requests observed through
   * {@linkcode RequestObserver.start} are recorded by their `end` and must not be recorded
   * again.
   */
  readonly record = (event: RequestEvent): void => {
    const status = statusLabel(event.transport, event.status);
    const failed = isServerFailure(event.transport, status);
    this.#metrics.observeRequest({
      transport: event.transport,
      method: event.method,
      status,
      durationSeconds: event.durationMs / 1000,
    });
    const stream = event.stream ?? currentRequestScope()?.stream ??
      event.method.endsWith("Stream");
    const slow = !failed && !stream && event.durationMs >= this.#slowMs;
    // The common case (debug off, request fine) builds no log fields at all.
    if (!failed && !slow && !this.#debugEnabled) return;
    const fields: Record<string, unknown> = {
      transport: event.transport,
      method: event.method,
      subject: event.subject ?? currentRequestScope()?.subject ?? null,
      status,
      durationMs: Math.round(event.durationMs * 1000) / 1000,
    };
    // A server that runs its handlers in the request span's context (traceGrpcService,
    // traceHttpListener) reports the event from inside it.
    const traceId = event.traceId ?? traceIdOf(context.active());
    if (traceId !== undefined) fields.traceId = traceId;
    this.#logger.debug("request", fields);
    if (failed) this.#logger.warn("request failed", withError(fields, event.error));
    else if (slow) this.#logger.warn("slow request", fields);
  };

  /** Starts observing one request: its span now, its metrics and log lines at `end`. */
  start(request: RequestStart): ObservedRequest {
    const startMs = this.#nowMs();
    const parent = parentContext(request);
    const attributes = request.subject === undefined ? {} : { "strand.subject": request.subject };
    const { span, context: requestContext } = startRequestSpan({
      transport: request.transport,
      method: request.method,
      parent,
      attributes,
    });
    const stream = request.stream === true;
    const streamClosed = stream
      ? this.#metrics.streamOpened(request.transport, request.method)
      : undefined;
    let ended = false;
    return {
      context: requestContext,
      run: (work) => context.with(requestContext, work),
      end: (outcome) => {
        if (ended) return;
        ended = true;
        streamClosed?.();
        const status = statusLabel(request.transport, outcome.status);
        span.setAttribute("strand.status", status);
        if (isServerFailure(request.transport, status)) {
          if (outcome.error === undefined) span.setStatus({ code: SpanStatusCode.ERROR });
          else markFailed(span, outcome.error);
        }
        span.end();
        const traceId = traceIdOf(requestContext);
        this.record({
          transport: request.transport,
          method: request.method,
          status,
          durationMs: this.#nowMs() - startMs,
          stream,
          ...(request.subject === undefined ? {} : { subject: request.subject }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
          ...(traceId === undefined ? {} : { traceId }),
        });
      },
    };
  }
}

function withError(fields: LogFields, error: unknown): LogFields {
  return error === undefined ? fields : { ...fields, error };
}
