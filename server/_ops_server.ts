/**
 * The operations listener (`--ops-addr`, like etcd's `--listen-metrics-urls`): plain HTTP
 * serving only `/healthz`, `/readyz` and the routes it is given (`/metrics`), so Kubernetes
 * probes and Prometheus reach a node whose data ports require client certificates. It never
 * serves records: every other path is 404, every other method 405.
 * @module
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { HealthState } from "./_health.ts";
import { sendJson } from "./_http_io.ts";
import type { HttpHandler } from "./_http_routes.ts";

/** Where the operations listener binds and what it serves beyond the probes. */
export interface OpsServerOptions {
  /** Host to bind. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The node's serving status: `/readyz` answers as the data port's does (200 or 503). */
  health: HealthState;
  /** More GET routes by path, e.g. observe/'s `/metrics` (HEAD is answered like GET). */
  routes?: Record<string, HttpHandler>;
}

/** A listening operations server. */
export interface OpsServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting; probes are short, so open connections are cut after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

function plain(response: http.ServerResponse, status: number, text: string, extra = {}): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...extra });
  response.end(`${text}\n`);
}

function dispatcher(options: OpsServerOptions) {
  const routes = new Map<string, HttpHandler>(Object.entries(options.routes ?? {}));
  // The same answers as the data port's probes, so a probe can move between them.
  routes.set("/healthz", (_request, response) => sendJson(response, 200, { status: "ok" }));
  routes.set("/readyz", (_request, response) => {
    const { ready, reason } = options.health.readiness();
    const status = ready ? "ready" : "not ready";
    sendJson(response, ready ? 200 : 503, reason === undefined ? { status } : { status, reason });
  });
  return async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const handler = routes.get(url.pathname);
    if (!handler) {
      const paths = [...routes.keys()].sort().join(", ");
      return plain(response, 404, `Cannot ${request.method} ${url.pathname}: serves ${paths}`);
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plain(response, 405, `Cannot ${request.method} ${url.pathname}: use GET`, {
        allow: "GET, HEAD",
      });
    }
    try {
      await handler(request, response, url);
    } catch (error) {
      if (!response.headersSent) plain(response, 500, `Cannot answer: ${String(error)}`);
      else response.destroy();
    }
  };
}

/**
 * Starts the operations listener.
 *
 * @example
 * ```ts
 * const ops = await startOpsServer({ host: "0.0.0.0", port: 8403, health: service.health });
 * ```
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer(dispatcher(options));
  // Probes and scrapes send no bodies: keep the limits tight.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | null = null;
  return {
    port,
    close(graceMs = 1000) {
      closed ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
