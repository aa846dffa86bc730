/**
 * The node:http(s) server of the JSON API (node:http because `Deno.serve` drops GET bodies,
 * which the book's `GET /` needs).
 * @module
 */
import * as http from "node:http";
import * as https from "node:https";
import { ConnSocket } from "./_conn_socket.ts";
import { ConnectionListener } from "./_listener.ts";
import {
  connectionsMaxDefault,
  type ConnectionStats,
  handshakeTimeoutMsDefault,
  httpConnectionShare,
  httpIdleTimeoutMsDefault,
} from "./_conn_limits.ts";
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
  /**
   * Open connections kept at most; more are closed at once, counted and logged. Default:
   * 25 % of the descriptor limit read at start (1024 assumed if unknown).
   */
  connectionsMax?: number;
  /** Time a new connection has to send its first request (TLS included). Default 10 s. */
  firstRequestTimeoutMs?: number;
  /** Time a keep-alive connection may idle with no request in progress. Default 30 s. */
  idleTimeoutMs?: number;
}

/** A listening HTTP server. */
export interface HttpServer {
  /** The bound port. */
  readonly port: number;
  /** What the HTTP port's listener counts (open, refused at the cap, accept errors…). */
  readonly connections: ConnectionStats;
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
export function startHttpServer(
  service: Service,
  options: HttpServerOptions,
): Promise<HttpServer> {
  try {
    return Promise.resolve(serveHttp(service, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

function serveHttp(service: Service, options: HttpServerOptions): HttpServer {
  const limits = { bodyBytesMax: options.bodyBytesMax ?? 2 * 1024 * 1024 };
  const routes = httpRoutes(service, limits);
  for (const [key, handler] of Object.entries(options.routes ?? {})) routes.set(key, handler);
  const dispatch = dispatcher(service, routes);
  const handle = options.wrapListener?.(dispatch) ?? dispatch;
  const server = options.tls ? https.createServer(options.tls, handle) : http.createServer(handle);
  const listener = new ConnectionListener({
    name: "http",
    host: options.host,
    port: options.port,
    connectionsMax: options.connectionsMax ?? connectionsMaxDefault(httpConnectionShare),
    logger: service.context.logger,
  });
  const port = listener.port;
  service.context.connectionStats.set("http", listener.stats);
  const sockets = new Set<ConnSocket>();
  // node:http keeps a connection alive after a response only while its server "listens";
  // this one never binds (we hand it connections), so it listens until close() begins.
  let accepting = true;
  Object.defineProperty(server, "listening", { get: () => accepting, configurable: true });
  server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const socket = connSocketOf(request.socket);
    if (!socket) return;
    socket.activeRequests++;
    socket.requestsSeen++;
    response.once("close", () => socket.activeRequests--);
  });
  listener.start(({ conn, reader, release }) => {
    const socket = new ConnSocket(conn, reader, null);
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      release();
    });
    socket.on("error", () => socket.destroy());
    server.emit("connection", socket);
  });
  const sweep = idleSweeper(sockets, listener.stats, {
    firstRequestMs: options.firstRequestTimeoutMs ?? handshakeTimeoutMsDefault,
    idleMs: options.idleTimeoutMs ?? httpIdleTimeoutMsDefault,
  });
  let closed: Promise<void> | null = null;
  const close = (graceMs = 5000) => {
    accepting = false;
    closed ??= listener.close().then(() =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        const finish = () => {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        };
        // Connections we accepted are not the server's own: end idle ones now, busy ones when
        // their request ends, and all of them after the grace.
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
          finish();
        }, graceMs);
        const poll = setInterval(() => {
          for (const socket of sockets) if (socket.activeRequests === 0) socket.destroy();
          if (sockets.size === 0) finish();
        }, 20);
        server.close();
      })
    );
    return closed;
  };
  return { port, connections: listener.stats, close };
}

/** Our socket under a request's socket (itself in plaintext, under node:tls otherwise). */
function connSocketOf(socket: unknown): ConnSocket | null {
  const plain = (socket as { self?: () => unknown } | null)?.self?.();
  if (plain instanceof ConnSocket) return plain;
  const handle = (socket as { _handle?: { _parentWrap?: { stream?: unknown } } } | null)?._handle;
  const under = (handle?._parentWrap?.stream as { self?: () => unknown } | undefined)?.self?.();
  return under instanceof ConnSocket ? under : null;
}

/**
 * Closes connections that sent no request within `firstRequestMs` of connecting (slow or
 * stalled TLS handshakes included) and keep-alive connections idle for `idleMs` with no
 * request in progress (a long tail stream is a request in progress). Checks once a second.
 */
function idleSweeper(
  sockets: Set<ConnSocket>,
  stats: ConnectionStats,
  limits: { firstRequestMs: number; idleMs: number },
): ReturnType<typeof setInterval> {
  const connectedAt = new WeakMap<ConnSocket, number>();
  const everyMs = Math.max(10, Math.min(1000, limits.firstRequestMs / 4, limits.idleMs / 4));
  return setInterval(() => {
    const now = performance.now();
    for (const socket of sockets) {
      if (!connectedAt.has(socket)) connectedAt.set(socket, now);
      if (socket.activeRequests > 0) continue;
      if (socket.requestsSeen === 0 && now - connectedAt.get(socket)! >= limits.firstRequestMs) {
        stats.handshakeTimeouts++;
        socket.destroy();
      } else if (socket.requestsSeen > 0 && now - socket.lastActivityMs >= limits.idleMs) {
        stats.idleClosed++;
        socket.destroy();
      }
    }
  }, everyMs);
}
