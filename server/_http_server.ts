/**
 * The node:http(s) server of the JSON API (node:http because `Deno.serve` drops GET bodies,
 * which the book's `GET /` needs).
 * @module
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { isRetryable, type ServiceError, serviceError, toServiceError } from "./_errors.ts";
import { LEADER_ADDR_KEY, LEADER_ID_KEY } from "./_types.ts";
import { getRecordByPath, type HttpHandler, httpRoutes } from "./_http_routes.ts";
import { sendError } from "./_http_io.ts";
import type { Service } from "./_service.ts";

/** Where and how the HTTP server listens. */
export interface HttpServerOptions {
  /** Host to bind. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** TLS options (cert, key, ca, requestCert…); plain HTTP when absent. */
  tls?: https.ServerOptions;
  /** Largest request body (default 2 MiB: a 1 MiB record in base64 plus JSON). */
  bodyBytesMax?: number;
  /** More routes, keyed "METHOD /path" (e.g. observe/'s "GET /metrics"). */
  routes?: Record<string, HttpHandler>;
  /** Wraps the request listener (observe/'s `traceHttpListener`: a span per request). */
  wrapListener?: (listener: http.RequestListener) => http.RequestListener;
}

/** A listening HTTP server. */
export interface HttpServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting, waits for in-flight requests up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

const recordPath = /^\/v1\/records\/([^/]+)$/;

function routeOf(method: string, path: string, routes: Map<string, HttpHandler>) {
  const key = `${method} ${path}`;
  if (routes.has(key)) return { name: key, handler: routes.get(key)! };
  if (recordPath.test(path) && method === "GET") return { name: "GET /v1/records/{offset}" };
  const known = [...routes.keys()].some((route) => route.endsWith(` ${path}`)) ||
    recordPath.test(path);
  return { name: known ? "405" : "404", error: known ? "METHOD_NOT_ALLOWED" : "NOT_FOUND" };
}

/** On a retryable failure: when to retry and, in a cluster, which node leads. */
function setRetryHeaders(service: Service, response: http.ServerResponse, failure: ServiceError) {
  if (!isRetryable(failure)) return;
  response.setHeader("retry-after", "1");
  const leader = service.context.cluster?.leader() ?? null;
  if (leader === null) return;
  response.setHeader(LEADER_ID_KEY, leader.id);
  response.setHeader(LEADER_ADDR_KEY, leader.rpcAddr);
}

function dispatcher(service: Service, routes: Map<string, HttpHandler>) {
  return async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const started = performance.now();
    const url = new URL(request.url ?? "/", "http://localhost");
    const method = request.method ?? "GET";
    const route = routeOf(method, url.pathname, routes);
    try {
      if ("error" in route) {
        const code = route.error === "NOT_FOUND" ? "NOT_FOUND" : "METHOD_NOT_ALLOWED";
        throw serviceError(code, `Cannot ${method} ${url.pathname}: no such route`);
      }
      if (route.handler) await route.handler(request, response, url);
      else await getRecordByPath(service, request, response, recordPath.exec(url.pathname)![1]!);
    } catch (error) {
      const failure = toServiceError(error);
      if (failure.httpStatus === 500) { // INTERNAL or DATA_LOSS: worth a log line
        service.context.logger.error("HTTP request failed", { error: String(error) });
      }
      if (!response.headersSent) setRetryHeaders(service, response, failure);
      sendError(response, failure);
    }
    service.context.observe({
      transport: "http",
      method: route.name,
      status: String(response.statusCode),
      durationMs: performance.now() - started,
    });
  };
}

/**
 * Starts the JSON/HTTP API of `service`.
 *
 * @example
 * ```ts
 * const api = await startHttpServer(service, { host: "127.0.0.1", port: 0 });
 * ```
 */
export async function startHttpServer(
  service: Service,
  options: HttpServerOptions,
): Promise<HttpServer> {
  const limits = { bodyBytesMax: options.bodyBytesMax ?? 2 * 1024 * 1024 };
  const routes = httpRoutes(service, limits);
  for (const [key, handler] of Object.entries(options.routes ?? {})) routes.set(key, handler);
  const dispatch = dispatcher(service, routes);
  const handle = options.wrapListener?.(dispatch) ?? dispatch;
  const server = options.tls ? https.createServer(options.tls, handle) : http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | null = null;
  const close = (graceMs = 5000) => {
    closed ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closed;
  };
  return { port, close };
}
