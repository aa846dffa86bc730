/** An OTLP/HTTP (JSON) trace receiver on loopback, and helpers to check what it got. */

import { assert, assertEquals } from "./_assert.ts";

/** One span as OTLP/JSON carries it (the fields the tests look at). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  status?: { code?: number };
}

/** OTLP's SPAN_KIND_SERVER. */
export const spanKindServer = 2;

/** Collects every span posted to `/v1/traces` into `spans`; other signals are accepted and dropped. */
export function startReceiver(spans: OtlpSpan[]): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const body = await request.text();
    if (new URL(request.url).pathname === "/v1/traces") {
      const payload = JSON.parse(body);
      for (const resource of payload.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) spans.push(...scope.spans);
      }
    }
    return Response.json({});
  });
}

/** Environment for a child that exports its spans to `receiver` as OTLP/JSON. */
export function otelEnv(receiver: Deno.HttpServer<Deno.NetAddr>): Record<string, string> {
  return {
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.addr.port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "strand-test",
  };
}

/** A caller's trace context, and the `traceparent` that carries it. */
export interface Caller {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceparent: string;
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A fresh caller with random trace and span ids, sampled. */
export function newCaller(): Caller {
  const traceId = randomHex(16);
  const spanId = randomHex(8);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** Polls `condition` until it holds, failing after `deadlineMs`. */
export async function waitFor(condition: () => boolean, what: string, deadlineMs = 20_000) {
  const startMs = Date.now();
  while (!condition()) {
    if (Date.now() - startMs > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The server span `name` in the caller's trace, whose parent is the caller's span. */
export function checkServerSpan(spans: OtlpSpan[], caller: Caller, name: string): OtlpSpan {
  const inTrace = spans.filter((span) => span.traceId === caller.traceId);
  const names = JSON.stringify(inTrace.map((span) => span.name));
  const request = inTrace.find((span) => span.name === name);
  assert(request !== undefined, `no "${name}" span in trace ${caller.traceId}: ${names}`);
  assertEquals(request.parentSpanId, caller.spanId, `${name} continues the caller's span`);
  assertEquals(request.kind, spanKindServer, `${name} is a server span`);
  return request;
}

/** Below the server span: log.append, and below that the group commit's write and fsync. */
export function checkAppendSpans(spans: OtlpSpan[], request: OtlpSpan): void {
  const inTrace = spans.filter((span) => span.traceId === request.traceId);
  const append = inTrace.find((span) => span.name === "log.append");
  assert(append !== undefined, `no log.append span under ${request.name}`);
  assertEquals(append.parentSpanId, request.spanId, `log.append is a child of ${request.name}`);
  for (const name of ["log.write", "log.fsync"]) {
    const groupCommit = inTrace.find((span) => span.name === name);
    assert(groupCommit !== undefined, `no ${name} span under ${request.name}`);
    assertEquals(groupCommit.parentSpanId, append.spanId, `${name} is a child of log.append`);
  }
}
