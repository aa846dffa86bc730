/**
 * A real `strand serve` (the least-privilege flags of `deno task start`) with observability
 * wired in: /metrics on the HTTP port moves after produce, consume and an error, the node's
 * stderr is JSON lines with the documented fields, and with OTEL_DENO=true a request's spans
 * continue the caller's traceparent down to the log's fsync.
 */

import * as grpc from "@grpc/grpc-js";
import { logService } from "../../proto/mod.ts";
import { servePermissions, startNode, tempDir } from "../e2e/_node.ts";
import { assert, assertEquals } from "./_assert.ts";
import { parseExposition, samplesOf, valueOf } from "./_exposition.ts";
import {
  checkAppendSpans,
  checkServerSpan,
  newCaller,
  otelEnv,
  type OtlpSpan,
  startReceiver,
  waitFor,
} from "./_otlp.ts";

Deno.test("serve exposes /metrics and logs every request as JSON at debug", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path, [
    "--log-level",
    "debug",
    "--log-format",
    "json",
    "--node-name",
    "n1",
  ]);
  try {
    const produced = await fetch(`${node.httpUrl}/`, {
      method: "POST",
      body: JSON.stringify({ record: { value: btoa("hello") } }),
    });
    assertEquals([produced.status, await produced.json()], [200, { offset: 0 }]);
    const consumed = await fetch(`${node.httpUrl}/v1/records/0`);
    assertEquals(consumed.status, 200);
    await consumed.body?.cancel();
    const missing = await fetch(`${node.httpUrl}/v1/records/7`);
    assertEquals(missing.status, 404);
    await missing.body?.cancel();

    const scrape = await fetch(`${node.httpUrl}/metrics`);
    assertEquals(scrape.status, 200);
    const exposition = parseExposition(await scrape.text());
    const http = { transport: "http", node: "n1" };
    assertEquals(
      valueOf(exposition, "strand_requests_total", { ...http, method: "POST /", status: "200" }),
      1,
    );
    assertEquals(
      valueOf(exposition, "strand_requests_total", {
        ...http,
        method: "GET /v1/records/{offset}",
        status: "404",
      }),
      1,
    );
    assertEquals(valueOf(exposition, "strand_records_total", { direction: "produced" }), 1);
    assertEquals(valueOf(exposition, "strand_record_bytes_total", { direction: "produced" }), 5);
    assertEquals(valueOf(exposition, "strand_records_total", { direction: "consumed" }), 1);
    assertEquals(valueOf(exposition, "strand_log_last_offset"), 0);
    assertEquals(valueOf(exposition, "strand_log_segments"), 1);
    assertEquals(valueOf(exposition, "strand_consume_streams_waiting"), 0);
    assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_sum"), 1);
    assertEquals(valueOf(exposition, "strand_log_append_duration_seconds_count"), 1);
    // Descriptor counts need read access to /proc, which the least-privilege start task does
    // not grant: they are absent rather than 0. Memory, CPU and heap need no permission.
    assertEquals(samplesOf(exposition, "process_open_fds", {}).length, 0);
    assert(valueOf(exposition, "process_resident_memory_bytes") > 1 << 20, "resident memory");
    assert(valueOf(exposition, "process_cpu_seconds_total") > 0, "process CPU");
    assert(valueOf(exposition, "nodejs_heap_size_used_bytes") > 0, "heap");
  } finally {
    assertEquals(await node.stop(), 0);
  }
  const lines = node.output().split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
  for (const line of lines) {
    assertEquals(
      Object.keys(line).slice(0, 4),
      ["time", "level", "msg", "node"],
      JSON.stringify(line),
    );
  }
  const requests = lines.filter((line) => line.msg === "request");
  assertEquals(
    requests.map((line) => [line.level, line.transport, line.method, line.status, line.subject]),
    [
      ["debug", "http", "POST /", "200", ""],
      ["debug", "http", "GET /v1/records/{offset}", "200", ""],
      ["debug", "http", "GET /v1/records/{offset}", "404", ""],
      ["debug", "http", "GET /metrics", "200", ""],
    ],
  );
  assert(requests.every((line) => typeof line.durationMs === "number"), "durationMs on each");
  const messages = lines.map((line) => line.msg);
  for (const expected of ["configuration", "node started", "node stopping", "node stopped"]) {
    assert(messages.includes(expected), `a "${expected}" line in ${JSON.stringify(messages)}`);
  }
});

/** Spawns `strand serve` with least privilege and extra env; resolves with its addresses. */
async function serveWithEnv(dataDir: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...servePermissions(dataDir),
      new URL("../../main.ts", import.meta.url).pathname,
      "serve",
      ...["--data-dir", dataDir, "--rpc-port", "0", "--http-port", "0", "--log-level", "warn"],
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const killTimer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    while (!/HTTP\s+\S+/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve exited before ready: ${text}${await stderr}`);
      text += value;
    }
  } finally {
    clearTimeout(killTimer);
  }
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return {
    rpcAddr: /gRPC\s+(\S+)/.exec(text)![1]!,
    httpUrl: /HTTP\s+(\S+)/.exec(text)![1]!,
    async stop(): Promise<number> {
      child.kill("SIGTERM");
      const status = await child.status;
      await drained;
      await stderr;
      return status.code;
    },
  };
}

Deno.test("serve continues the caller's traceparent over HTTP and gRPC into Deno's exporter", async () => {
  await using dir = await tempDir();
  const spans: OtlpSpan[] = [];
  const receiver = startReceiver(spans);
  const http = newCaller();
  const rpc = newCaller();
  try {
    const node = await serveWithEnv(dir.path, otelEnv(receiver));
    try {
      const produced = await fetch(`${node.httpUrl}/`, {
        method: "POST",
        headers: { traceparent: http.traceparent },
        body: JSON.stringify({ record: { value: btoa("hello") } }),
      });
      assertEquals(produced.status, 200);
      await produced.body?.cancel();
      const Client = grpc.makeGenericClientConstructor(logService, "Log");
      const client = new Client(node.rpcAddr, grpc.credentials.createInsecure()) as
        & grpc.Client
        & Record<string, (...args: unknown[]) => void>;
      try {
        const metadata = new grpc.Metadata();
        metadata.set("traceparent", rpc.traceparent);
        const reply = await new Promise<{ offset: unknown }>((resolve, reject) =>
          client.produce!(
            { record: { value: new TextEncoder().encode("hi") } },
            metadata,
            (error: Error | null, response: { offset: unknown }) =>
              error ? reject(error) : resolve(response),
          )
        );
        assertEquals(Number(reply.offset), 1);
      } finally {
        client.close();
      }
    } finally {
      assertEquals(await node.stop(), 0);
    }
    await waitFor(
      () => ["POST /", "Produce"].every((name) => spans.some((span) => span.name === name)),
      "the request spans",
    );
    checkAppendSpans(spans, checkServerSpan(spans, http, "POST /"));
    checkAppendSpans(spans, checkServerSpan(spans, rpc, "Produce"));
  } finally {
    await receiver.shutdown();
  }
});
