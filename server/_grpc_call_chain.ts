/**
 * The one place that walks grpc-js's private server-call chain (grpc-js is pinned in
 * deno.lock): a public call object holds `call`, an interceptor chain linked by `nextCall`,
 * ending at the call that owns the node:http2 `stream`.
 * @module
 */

/** The innermost grpc-js call (the one holding a node:http2 `stream`), or null. */
export function innerGrpcCall(call: unknown): Record<string, unknown> | null {
  let link = (call as { call?: unknown } | null)?.call as Record<string, unknown> | undefined;
  for (let depth = 0; link && depth < 8; depth++) {
    const stream = link["stream"];
    if (stream !== null && typeof stream === "object") return link;
    link = link["nextCall"] as Record<string, unknown> | undefined;
  }
  return null;
}
