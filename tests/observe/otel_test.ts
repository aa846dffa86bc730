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
import {
  checkAppendSpans,
  checkServerSpan,
  newCaller,
  otelEnv,
  type OtlpSpan,
  startReceiver,
  waitFor,
} from "./_otlp.ts";

const deadlineMs = 20_000;

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

type GrpcClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function metadataWith(traceparent: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("traceparent", traceparent);
  return metadata;
}

/** A unary call; resolves with the status code (0 on success). */
function grpcUnary(
  client: GrpcClient,
  name: "echo" | "fail",
  traceparent: string,
): Promise<number> {
  return new Promise((resolve) => {
    client[name]!(
      Buffer.from("hi"),
      metadataWith(traceparent),
      (error: grpc.ServiceError | null) => {
        resolve(error === null ? 0 : error.code);
      },
    );
  });
}

/** A server-streaming call; resolves with the number of messages once the stream ends. */
function grpcTail(client: GrpcClient, traceparent: string): Promise<number> {
  const call = client.tail!(
    Buffer.from("hi"),
    metadataWith(traceparent),
  ) as grpc.ClientReadableStream<
    Buffer
  >;
  let messages = 0;
  call.on("data", () => messages++);
  return new Promise((resolve, reject) => {
    call.on(
      "status",
      (status: grpc.StatusObject) =>
        status.code === 0 ? resolve(messages) : reject(new Error(status.details)),
    );
    call.on("error", reject);
  });
}

Deno.test("traceparent from HTTP headers and gRPC metadata reaches Deno's OTLP exporter", async () => {
  const spans: OtlpSpan[] = [];
  const receiver = startReceiver(spans);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_otel_child.ts", import.meta.url).pathname],
    cwd: new URL("../../", import.meta.url).pathname,
    env: otelEnv(receiver),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const killTimer = setTimeout(() => child.kill(), deadlineMs);
  const callers = {
    start: newCaller(),
    listener: newCaller(),
    echo: newCaller(),
    fail: newCaller(),
    tail: newCaller(),
  };
  try {
    const ports = JSON.parse(await firstLine(child.stdout));
    const post = await fetch(`http://127.0.0.1:${ports.start}/v1/records`, {
      method: "POST",
      headers: { traceparent: callers.start.traceparent },
      body: "{}",
    });
    assertEquals([post.status, await post.text()], [200, "{}"]);
    const get = await fetch(`http://127.0.0.1:${ports.listener}/v1/records/42`, {
      headers: { traceparent: callers.listener.traceparent },
    });
    assertEquals([get.status, await get.text()], [200, "{}"]);
    const Client = grpc.makeGenericClientConstructor(echoService, "Echo");
    const client = new Client(
      `127.0.0.1:${ports.grpc}`,
      grpc.credentials.createInsecure(),
    ) as GrpcClient;
    try {
      assertEquals(await grpcUnary(client, "echo", callers.echo.traceparent), 0);
      assertEquals(await grpcUnary(client, "fail", callers.fail.traceparent), grpc.status.INTERNAL);
      assertEquals(await grpcTail(client, callers.tail.traceparent), 2);
    } finally {
      client.close();
    }
    await child.stdin.close();
    const status = await child.status;
    const logs = await stderrText;
    assert(status.success, `child failed: ${logs}`);

    const expected = ["POST /v1/records", "GET /v1/records/{offset}", "Echo", "Fail", "Tail"];
    await waitFor(
      () =>
        expected.every((name) => spans.some((span) => span.name === name)) &&
        spans.filter((span) => span.name === "log.fsync").length >= 4,
      "all spans",
    );
    checkAppendSpans(spans, checkServerSpan(spans, callers.start, "POST /v1/records"));
    checkAppendSpans(spans, checkServerSpan(spans, callers.listener, "GET /v1/records/{offset}"));
    checkAppendSpans(spans, checkServerSpan(spans, callers.echo, "Echo"));
    checkAppendSpans(spans, checkServerSpan(spans, callers.tail, "Tail"));
    const failed = checkServerSpan(spans, callers.fail, "Fail");
    assertEquals(failed.status?.code, 2, "an INTERNAL status marks the span as an error");

    const requestLines = logs.trim().split("\n").map((line) => JSON.parse(line))
      .filter((line) => line.msg === "request");
    assertEquals(
      requestLines.map((line) => [line.level, line.method, line.status, line.traceId]),
      [
        ["debug", "POST /v1/records", "200", callers.start.traceId],
        ["debug", "GET /v1/records/{offset}", "200", callers.listener.traceId],
      ],
      "request lines carry the trace id, also when recorded after the fact",
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
