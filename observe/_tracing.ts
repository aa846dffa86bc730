/**
 * Tracing helpers over `@opentelemetry/api`. Nothing here configures an SDK: when the node
 * runs with `OTEL_DENO=true`, Deno registers its own tracer provider, context manager and W3C
 * propagator with the API, and exports spans over OTLP (`OTEL_EXPORTER_OTLP_*`). Without it
 * every call below is a cheap no-op.
 * @module
 */

import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import type { LogObserver, Transport } from "./_metrics.ts";

/** The instrumentation scope name of Strand's spans. */
export const tracerName = "strand";

/** Incoming HTTP headers: fetch `Headers` or `node:http`'s `IncomingHttpHeaders`. */
export type HttpHeaders = Headers | Readonly<Record<string, string | string[] | undefined>>;

/** What Strand needs of gRPC `Metadata` (grpc-js's class fits it). */
export interface GrpcMetadata {
  /** All values of `key` (grpc-js returns strings for text keys). */
  get(key: string): Array<string | Uint8Array>;
  /** Replaces the values of `key`. */
  set(key: string, value: string): void;
}

function tracer(): Tracer {
  return trace.getTracer(tracerName);
}

/**
 * Whether a tracer provider is registered (Deno registers one under `OTEL_DENO=true`). Without
 * one every span is a no-op, so the request path skips building them (a few microseconds per
 * request: header extraction, span objects, context switches). Checked per call: cheap, and
 * right even if a provider is registered after start.
 */
export function tracingActive(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) ||
    provider.getDelegateTracer(tracerName) !== undefined;
}

const inactiveSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The caller's trace context from `traceparent`/`tracestate` HTTP headers (or none). */
export function contextFromHttpHeaders(headers: HttpHeaders): Context {
  if (!tracingActive()) return ROOT_CONTEXT;
  return propagation.extract(context.active(), headers, {
    keys: (carrier) => headers instanceof Headers ? [...headers.keys()] : Object.keys(carrier),
    get: (carrier, key) => {
      if (headers instanceof Headers) return headers.get(key) ?? undefined;
      return (carrier as Record<string, string | string[] | undefined>)[key.toLowerCase()];
    },
  });
}

/** The caller's trace context from `traceparent`/`tracestate` gRPC metadata (or none). */
export function contextFromGrpcMetadata(metadata: GrpcMetadata): Context {
  if (!tracingActive()) return ROOT_CONTEXT;
  return propagation.extract(context.active(), metadata, {
    keys: () => ["traceparent", "tracestate", "baggage"],
    get: (carrier, key) => {
      const values = carrier.get(key).filter((value) => typeof value === "string");
      return values.length === 0 ? undefined : values as string[];
    },
  });
}

/** Writes the active trace context into outgoing gRPC metadata (client and peer calls). */
export function injectGrpcMetadata(metadata: GrpcMetadata): void {
  propagation.inject(context.active(), metadata, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}

/** Writes the active trace context into outgoing HTTP headers. */
export function injectHttpHeaders(headers: Headers): void {
  propagation.inject(context.active(), headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}

/** What {@linkcode startRequestSpan} needs to know about a request. */
export interface RequestSpanOptions {
  /** Which front door the request came through. */
  readonly transport: Transport;
  /** RPC name or route, also the span name. */
  readonly method: string;
  /** The caller's context, from {@linkcode contextFromHttpHeaders} or gRPC metadata. */
  readonly parent: Context;
  /** Extra span attributes (e.g. `strand.subject`). */
  readonly attributes?: Attributes;
}

/** A server span and the context to run the request's work in. */
export interface RequestSpan {
  /** The request's server span; end it when the request ends. */
  readonly span: Span;
  /** `parent` with `span` set: run the request's work in it. */
  readonly context: Context;
}

/** Starts the server span of one request as a child of the caller's context. */
export function startRequestSpan(options: RequestSpanOptions): RequestSpan {
  if (!tracingActive()) return { span: inactiveSpan, context: options.parent };
  const transportAttributes: Attributes = options.transport === "grpc"
    ? { "rpc.system": "grpc", "rpc.method": options.method }
    : { "http.route": options.method };
  const span = tracer().startSpan(options.method, {
    kind: SpanKind.SERVER,
    attributes: {
      "strand.transport": options.transport,
      ...transportAttributes,
      ...options.attributes,
    },
  }, options.parent);
  return { span, context: trace.setSpan(options.parent, span) };
}

/**
 * Runs `work` inside a child span of the active context (e.g. `log.append` inside a Produce),
 * ending the span when `work` settles and marking it failed if `work` throws.
 *
 * @example
 * ```ts
 * const offset = await withSpan("log.append", { "strand.records": 3 }, () => log.append(batch));
 * ```
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingActive()) return work();
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed with the error's message and records it as an exception event. */
export function markFailed(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/**
 * A log observer that, on top of `inner`, records each group commit as `log.write` and
 * `log.fsync` spans under the active context. The log reports a group commit after the fact,
 * so the spans are placed backwards from now by their durations. The active context is that
 * of the append which started the flush; the other appends the group covers see it only
 * through their own `log.append` span.
 */
export function withGroupCommitSpans(inner: LogObserver): LogObserver {
  return {
    ...(inner.onRecovery ? { onRecovery: inner.onRecovery } : {}),
    onGroupCommit: (event) => {
      inner.onGroupCommit(event);
      if (!tracingActive()) return;
      const endMs = Date.now();
      const attributes = { "strand.entries": event.entries, "strand.bytes": event.bytes };
      const fsyncStartMs = endMs - Math.max(0, event.fsyncMs);
      const write = tracer().startSpan("log.write", {
        attributes,
        startTime: fsyncStartMs - Math.max(0, event.writeMs),
      });
      write.end(fsyncStartMs);
      if (event.fsyncMs <= 0) return;
      const fsync = tracer().startSpan("log.fsync", { attributes, startTime: fsyncStartMs });
      fsync.end(endMs);
    },
  };
}

/** The trace id of the span in `ctx`, or undefined when there is no sampled trace. */
export function traceIdOf(ctx: Context): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && trace.isSpanContextValid(spanContext)
    ? spanContext.traceId
    : undefined;
}
