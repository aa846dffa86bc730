/**
 * The operations listener (`--ops-addr`, like etcd's `--listen-metrics-urls`): plain HTTP
 * serving only `/healthz`, `/readyz` and the routes it is given (`/metrics`), so Kubernetes
 * probes and Prometheus reach a node whose data ports require client certificates. It never
 * serves records: every other path is 404, every other method 405.
 * @module
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { ServingStatus } from "../proto/mod.ts";
import type { HealthState } from "./_health.ts";
import type { HttpHandler } from "./_http_routes.ts";

/** Where the operations listener binds and what it serves beyond the probes. */
export interface OpsServerOptions {
  /** Host to bind. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The node's serving status: `/readyz` is 200 only while SERVING. */
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
  routes.set("/healthz", (_request, response) => plain(response, 200, "ok"));
  routes.set("/readyz", (_request, response) => {
    const ready = options.health.status === ServingStatus.SERVING;
    plain(response, ready ? 200 : 503, ready ? "ready" : "not ready");
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
