/**
 * End to end through Deno's built-in OpenTelemetry: a child node runs with OTEL_DENO=true and
 * exports over OTLP/HTTP (JSON) to a receiver this test runs on loopback. Requests carrying a
 * W3C `traceparent` (HTTP header, gRPC metadata) must yield spans in the caller's trace, with
 * the caller's span as parent, and log.append / log.write / log.fsync spans beneath.
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { assert, assertEquals } from "./_assert.ts";
import { echoService } from "./_echo_service.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

const spanKindServer = 2;
const deadlineMs = 20_000;

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function startReceiver(spans: OtlpSpan[]): Deno.HttpServer<Deno.NetAddr> {
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

/** Reads the child's first stdout line, then discards the rest of its stdout. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`child exited before printing its ports: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel();
  }
  return text.slice(0, text.indexOf("\n"));
}

function grpcEcho(port: number, traceparent: string): Promise<void> {
  const Client = grpc.makeGenericClientConstructor(echoService, "Echo");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("traceparent", traceparent);
  return new Promise<void>((resolve, reject) => {
    const call = client as unknown as Record<
      string,
      (request: Buffer, metadata: grpc.Metadata, callback: (error: Error | null) => void) => void
    >;
    call.echo!(Buffer.from("hi"), metadata, (error) => error ? reject(error) : resolve());
  }).finally(() => client.close());
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const startMs = Date.now();
  while (!condition()) {
    if (Date.now() - startMs > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function checkTrace(spans: OtlpSpan[], traceId: string, callerSpanId: string, name: string) {
  const inTrace = spans.filter((span) => span.traceId === traceId);
  const request = inTrace.find((span) => span.name === name);
  assert(
    request !== undefined,
    `no "${name}" span in trace ${traceId}: ${JSON.stringify(inTrace.map((s) => s.name))}`,
  );
  assertEquals(request.parentSpanId, callerSpanId, `${name} continues the caller's span`);
  assertEquals(request.kind, spanKindServer, `${name} is a server span`);
  const append = inTrace.find((span) => span.name === "log.append");
  assert(append !== undefined, `no log.append span in trace ${traceId}`);
  assertEquals(append.parentSpanId, request.spanId, "log.append is a child of the request");
  for (const name of ["log.write", "log.fsync"]) {
    const groupCommit = inTrace.find((span) => span.name === name);
    assert(groupCommit !== undefined, `no ${name} span in trace ${traceId}`);
    assertEquals(groupCommit.parentSpanId, append.spanId, `${name} is a child of log.append`);
  }
}

Deno.test("traceparent from HTTP headers and gRPC metadata reaches Deno's OTLP exporter", async () => {
  const spans: OtlpSpan[] = [];
  const receiver = startReceiver(spans);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_otel_child.ts", import.meta.url).pathname],
    cwd: new URL("../../", import.meta.url).pathname,
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.addr.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "strand-test",
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const killTimer = setTimeout(() => child.kill(), deadlineMs);
  try {
    const ports = JSON.parse(await firstLine(child.stdout));
    const http = { traceId: randomHex(16), spanId: randomHex(8) };
    const rpc = { traceId: randomHex(16), spanId: randomHex(8) };
    const response = await fetch(`http://127.0.0.1:${ports.httpPort}/v1/records`, {
      method: "POST",
      headers: { traceparent: `00-${http.traceId}-${http.spanId}-01` },
      body: "{}",
    });
    assertEquals([response.status, await response.text()], [200, "{}"]);
    await grpcEcho(ports.grpcPort, `00-${rpc.traceId}-${rpc.spanId}-01`);
    await child.stdin.close();
    const status = await child.status;
    const logs = await stderrText;
    assert(status.success, `child failed: ${logs}`);

    await waitFor(
      () => spans.filter((span) => span.name.startsWith("log.fsync")).length >= 2,
      "spans",
    );
    checkTrace(spans, http.traceId, http.spanId, "POST /v1/records");
    checkTrace(spans, rpc.traceId, rpc.spanId, "Echo");

    const requestLines = logs.trim().split("\n").map((line) => JSON.parse(line))
      .filter((line) => line.msg === "request");
    assertEquals(
      requestLines.map((line) => [line.level, line.transport, line.status, line.traceId]),
      [["debug", "http", "200", http.traceId], ["debug", "grpc", "OK", rpc.traceId]],
    );
  } finally {
    clearTimeout(killTimer);
    try {
      child.kill();
    } catch {
      // Already exited: the normal path.
    }
    await child.status;
    await receiver.shutdown();
  }
});
