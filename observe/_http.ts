/**
 * `GET /metrics`: the Prometheus scrape endpoint, for a `node:http` server and for a
 * fetch-style (`Deno.serve`) handler.
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Metrics } from "./_metrics.ts";

/** The path Prometheus scrapes by default. */
export const metricsPath = "/metrics";

/**
 * Answers a `node:http` request for `/metrics`: 200 with the exposition for GET and HEAD, 405
 * for other methods, 500 if collection fails. The caller routes; this does not look at the URL.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * const metrics = new Metrics();
 * createServer((req, res) => {
 *   if (req.url?.split("?")[0] === metricsPath) return void serveMetrics(metrics, req, res);
 *   res.writeHead(404).end();
 * });
 * ```
 */
export async function serveMetrics(
  metrics: Metrics,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const answer = await metricsAnswer(metrics, request.method ?? "GET");
  response.writeHead(answer.status, answer.headers);
  response.end(request.method === "HEAD" ? undefined : answer.body);
}

/** The fetch-style twin of {@linkcode serveMetrics}, for a `Deno.serve` handler. */
export async function metricsResponse(metrics: Metrics, request: Request): Promise<Response> {
  const answer = await metricsAnswer(metrics, request.method);
  return new Response(request.method === "HEAD" ? null : answer.body, {
    status: answer.status,
    headers: answer.headers,
  });
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function metricsAnswer(metrics: Metrics, method: string): Promise<Answer> {
  if (method !== "GET" && method !== "HEAD") {
    return {
      status: 405,
      headers: { "content-type": "text/plain; charset=utf-8", allow: "GET, HEAD" },
      body: `Cannot ${method} ${metricsPath}: only GET and HEAD are allowed\n`,
    };
  }
  try {
    const body = await metrics.exposition();
    return { status: 200, headers: { "content-type": metrics.contentType }, body };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: `Cannot collect metrics: ${message}\n`,
    };
  }
}

/** A `node:http` route handler, in the server's `routes` option shape. */
export type MetricsRouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
) => Promise<void>;

/**
 * The `/metrics` routes keyed `"METHOD /path"`, ready for the HTTP server's extra `routes`
 * option (its router answers 405 for other methods on a known path).
 *
 * @example
 * ```ts
 * await startHttpServer(service, { host, port, routes: metricsRoutes(metrics) });
 * ```
 */
export function metricsRoutes(metrics: Metrics): Record<string, MetricsRouteHandler> {
  const handler: MetricsRouteHandler = (request, response) =>
    serveMetrics(metrics, request, response);
  return { [`GET ${metricsPath}`]: handler, [`HEAD ${metricsPath}`]: handler };
}
