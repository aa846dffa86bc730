/**
 * Observability of a Strand node: a structured logger (passed in, never global), the
 * Prometheus metrics registry with its `GET /metrics` endpoint, and OpenTelemetry tracing
 * helpers that continue a caller's W3C `traceparent` (exported by Deno's built-in
 * OpenTelemetry when the node runs with `OTEL_DENO=true`).
 *
 * @example
 * ```ts
 * import { createLogger, Metrics, RequestObserver } from "../observe/mod.ts";
 * const logger = createLogger({ level: "info" });
 * const metrics = new Metrics({ defaultLabels: { node: "n1" } });
 * const requests = new RequestObserver({ logger, metrics });
 * ```
 * @module
 */

export { ObserveError, type ObserveErrorCode } from "./_errors.ts";
export {
  createLogger,
  defaultLogFormat,
  type LogFields,
  type LogFormat,
  logFormats,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  logLevels,
  parseLogFormat,
  parseLogLevel,
  silentLogger,
  type StructuredLogger,
} from "./_logger.ts";
export { redactedText, type RedactOptions, redactSecrets, toJsonSafe } from "./_redact.ts";
export {
  type GroupCommitEvent,
  type LogObserver,
  type LogStats,
  type MembershipStats,
  type MetricConfig,
  Metrics,
  type MetricsOptions,
  type RaftStats,
  type RequestSample,
  type Transport,
} from "./_metrics.ts";
export { type MeteredLog, observeCommitLog } from "./_commit_log.ts";
export {
  metricsPath,
  metricsResponse,
  type MetricsRouteHandler,
  metricsRoutes,
  serveMetrics,
} from "./_http.ts";
export {
  contextFromGrpcMetadata,
  contextFromHttpHeaders,
  type GrpcMetadata,
  type HttpHeaders,
  injectGrpcMetadata,
  injectHttpHeaders,
  markFailed,
  type RequestSpan,
  type RequestSpanOptions,
  startRequestSpan,
  traceIdOf,
  tracerName,
  withGroupCommitSpans,
  withSpan,
} from "./_tracing.ts";
export {
  type ObservedRequest,
  type RequestEnd,
  type RequestEvent,
  RequestObserver,
  type RequestObserverOptions,
  type RequestStart,
  statusLabel,
} from "./_request.ts";
export {
  defaultIsStream,
  defaultRouteName,
  type HttpListener,
  type TraceGrpcOptions,
  traceGrpcService,
  traceHttpListener,
  type TraceHttpOptions,
} from "./_server_tracing.ts";
