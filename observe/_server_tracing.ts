/**
 * Server spans without touching handlers: decorators for a grpc-js service implementation and
 * a `node:http` request listener. Each request runs inside its span's context, so the
 * `log.append` span of an observed log (and any span below) attaches to it, and the server's
 * after-the-fact request event finds the trace id (see `RequestObserver.record`).
 * @module
 */

import type { RequestListener } from "node:http";
import type {
  ServiceDefinition,
  ServiceError,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { context, SpanStatusCode } from "@opentelemetry/api";
import type { Metrics } from "./_metrics.ts";
import { commonNameOf, type RequestScope, runInRequestScope } from "./_request_scope.ts";
import { statusLabel } from "./_request.ts";
import {
  contextFromGrpcMetadata,
  contextFromHttpHeaders,
  type GrpcMetadata,
  markFailed,
  type RequestSpan,
  startRequestSpan,
  tracingActive,
} from "./_tracing.ts";

type PeerCertificate = Parameters<typeof commonNameOf>[0];

/** A `node:http` request listener (what `http.createServer` takes). */
export type HttpListener = RequestListener;

/** Options of {@linkcode traceHttpListener}. */
export interface TraceHttpOptions {
  /**
   * The span name of a request, a route rather than a raw path so names stay few. Default:
   * `METHOD /path` with all-digit segments replaced by `{offset}` (Strand's only numeric
   * path parameter), e.g. `GET /v1/records/{offset}`.
   */
  routeName?: (method: string, path: string) => string;
  /**
   * Whether a request is a long-lived stream: never reported as slow, and counted in
   * `strand_open_streams` (given `metrics`). Default: `GET /v1/records` (the NDJSON/SSE tail).
   */
  isStream?: (method: string, path: string) => boolean;
  /** Counts open streams in `strand_open_streams`. */
  metrics?: Metrics;
}

/** Strand's HTTP stream: `GET /v1/records` (records from an offset, optionally followed). */
export function defaultIsStream(method: string, path: string): boolean {
  return method === "GET" && path === "/v1/records";
}

/** Options of {@linkcode traceGrpcService}. */
export interface TraceGrpcOptions {
  /** Counts streaming calls in `strand_open_streams` while they are open. */
  metrics?: Metrics;
}

const grpcServerFailures = new Set([2, 4, 12, 13, 14, 15]);

/** Marks a call open; returns the function that marks it closed (idempotent). */
type StreamCounter = () => () => void;
const noStreamCounter: StreamCounter = () => () => {};

function openStreamCounter(metrics: Metrics, rpcName: string): StreamCounter {
  return () => metrics.streamOpened("grpc", rpcName);
}

/**
 * Wraps every method of a grpc-js service implementation in a server span that continues the
 * caller's `traceparent` from the call's metadata (and, given `metrics`, counts streaming
 * calls in `strand_open_streams`). Unary and client-streaming spans end when
 * the handler calls back; server-streaming and bidi spans when the call finishes or is
 * cancelled.
 *
 * @example
 * ```ts
 * server.addService(logService, traceGrpcService(logService, logHandlers(ctx)));
 * ```
 */
export function traceGrpcService(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  options: TraceGrpcOptions = {},
): UntypedServiceImplementation {
  const traced: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const method = definition[name];
    if (method === undefined) {
      traced[name] = handler;
      continue;
    }
    const rpcName = method.path.slice(method.path.lastIndexOf("/") + 1);
    const streaming = method.requestStream || method.responseStream;
    const opened = streaming && options.metrics !== undefined
      ? openStreamCounter(options.metrics, rpcName)
      : noStreamCounter;
    traced[name] = method.responseStream
      ? traceStreamingResponse(rpcName, handler, opened)
      : traceCallback(rpcName, handler, opened, method.requestStream);
  }
  return traced;
}

type Callback = (error: ServiceError | null, ...rest: unknown[]) => void;
/** What the decorators use of a grpc-js call. */
interface GrpcCall {
  metadata: GrpcMetadata;
  getAuthContext?: () => { sslPeerCertificate?: { subject?: { CN?: string | string[] } } };
}
type CallbackHandler = (call: GrpcCall, callback: Callback) => void;
type StreamHandler = (call: StreamCall) => void;
interface StreamCall extends GrpcCall {
  once(event: string, listener: (argument?: unknown) => void): unknown;
}

/** Runs a handler in the request's trace context and request scope. */
function serve(request: RequestSpan, scope: RequestScope, work: () => void): void {
  if (!tracingActive()) return runInRequestScope(scope, work);
  if (scope.subject !== "") request.span.setAttribute("strand.subject", scope.subject);
  runInRequestScope(scope, () => context.with(request.context, work));
}

function grpcSubject(call: GrpcCall): string {
  try {
    return commonNameOf(call.getAuthContext?.().sslPeerCertificate);
  } catch {
    return ""; // No auth context (an insecure channel in some grpc-js versions).
  }
}

function traceCallback(
  rpcName: string,
  handler: UntypedHandleCall,
  opened: StreamCounter,
  stream: boolean,
): UntypedHandleCall {
  const inner = handler as unknown as CallbackHandler;
  const wrapped: CallbackHandler = (call, callback) => {
    const request = grpcSpan(rpcName, call.metadata);
    const closed = opened();
    let ended = false;
    const tracedCallback: Callback = (error, ...rest) => {
      if (!ended) {
        ended = true;
        closed();
        endGrpcSpan(request, error === null ? 0 : error.code ?? 2, error);
      }
      callback(error, ...rest);
    };
    serve(request, { subject: grpcSubject(call), stream }, () => inner(call, tracedCallback));
  };
  return wrapped as unknown as UntypedHandleCall;
}

function traceStreamingResponse(
  rpcName: string,
  handler: UntypedHandleCall,
  opened: StreamCounter,
): UntypedHandleCall {
  const inner = handler as unknown as StreamHandler;
  const wrapped: StreamHandler = (call) => {
    const request = grpcSpan(rpcName, call.metadata);
    const closed = opened();
    let code = 0;
    let failure: unknown = undefined;
    let ended = false;
    const end = (finalCode: number) => {
      if (ended) return;
      ended = true;
      closed();
      endGrpcSpan(request, finalCode, failure);
    };
    call.once("error", (error) => {
      failure = error;
      code = (error as { code?: number } | undefined)?.code ?? 2;
    });
    call.once("cancelled", () => end(1));
    call.once("finish", () => end(code));
    call.once("close", () => end(code));
    serve(request, { subject: grpcSubject(call), stream: true }, () => inner(call));
  };
  return wrapped as unknown as UntypedHandleCall;
}

function grpcSpan(rpcName: string, metadata: GrpcMetadata): RequestSpan {
  const parent = contextFromGrpcMetadata(metadata);
  return startRequestSpan({ transport: "grpc", method: rpcName, parent });
}

function endGrpcSpan(request: RequestSpan, code: number, error: unknown): void {
  request.span.setAttribute("rpc.grpc.status_code", code);
  request.span.setAttribute("strand.status", statusLabel("grpc", code));
  if (grpcServerFailures.has(code)) {
    if (error === undefined || error === null) {
      request.span.setStatus({ code: SpanStatusCode.ERROR });
    } else markFailed(request.span, error);
  }
  request.span.end();
}

/** The paths Strand's HTTP API serves, as route names. */
const knownRoutes = new Set([
  "/",
  "/v1/records",
  "/v1/records/{offset}",
  "/healthz",
  "/readyz",
  "/metrics",
]);

/**
 * Strand's route naming: `METHOD /path` with numeric segments as `{offset}`; any other path is
 * `METHOD (unrouted)`, so a client probing random URLs cannot grow the set of span names and
 * metric label values without bound.
 */
export function defaultRouteName(method: string, path: string): string {
  const route = path.replace(/\/\d+(?=\/|$)/g, "/{offset}");
  return knownRoutes.has(route) ? `${method} ${route}` : `${method} (unrouted)`;
}

/**
 * Wraps a `node:http` request listener in a server span per request that continues the
 * caller's `traceparent` header; the span ends when the response closes, with its status.
 *
 * @example
 * ```ts
 * const server = http.createServer(traceHttpListener(handle));
 * ```
 */
export function traceHttpListener(
  listener: HttpListener,
  options: TraceHttpOptions = {},
): HttpListener {
  const routeName = options.routeName ?? defaultRouteName;
  const isStream = options.isStream ?? defaultIsStream;
  return (request, response) => {
    const method = request.method ?? "GET";
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const route = routeName(method, path);
    const stream = isStream(method, path);
    const streamClosed = stream ? options.metrics?.streamOpened("http", route) : undefined;
    const parent = contextFromHttpHeaders(request.headers);
    const traced = startRequestSpan({
      transport: "http",
      method: route,
      parent,
      attributes: { "http.request.method": method, "url.path": path },
    });
    response.once("close", () => {
      streamClosed?.();
      const status = response.statusCode;
      traced.span.setAttribute("http.response.status_code", status);
      if (status >= 500) traced.span.setStatus({ code: SpanStatusCode.ERROR });
      traced.span.end();
    });
    const socket = request.socket as { getPeerCertificate?: () => PeerCertificate | null };
    const subject = commonNameOf(socket.getPeerCertificate?.());
    if (subject !== "") traced.span.setAttribute("strand.subject", subject);
    return runInRequestScope(
      { subject, stream },
      () => context.with(traced.context, () => listener(request, response)),
    );
  };
}
