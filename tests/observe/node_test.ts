/**
 * A real `strand serve` (the least-privilege flags of `deno task start`) with observability
 * wired in: /metrics on the HTTP port moves after produce, consume and an error, and the
 * node's stderr is JSON lines with the documented fields.
 */

import { startNode, tempDir } from "../e2e/_node.ts";
import { assert, assertEquals } from "./_assert.ts";
import { parseExposition, valueOf } from "./_exposition.ts";

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
    assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_sum"), 1);
    assertEquals(valueOf(exposition, "strand_log_append_duration_seconds_count"), 1);
    // process_resident_memory_bytes and open fds need read access to /proc, which the
    // least-privilege start task does not grant; CPU and heap need nothing.
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
