import { type LogStats, Metrics, ObserveError } from "../../observe/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { parseExposition, samplesOf, valueOf } from "./_exposition.ts";

async function scrape(metrics: Metrics) {
  return parseExposition(await metrics.exposition());
}

Deno.test("request counters and latency histograms move by transport, method and status", async () => {
  const metrics = new Metrics({ defaultLabels: { node: "n1" } });
  metrics.observeRequest({
    transport: "grpc",
    method: "Produce",
    status: "OK",
    durationSeconds: 0.002,
  });
  metrics.observeRequest({
    transport: "grpc",
    method: "Produce",
    status: "OK",
    durationSeconds: 0.2,
  });
  metrics.observeRequest({
    transport: "http",
    method: "GET /v1/records/{offset}",
    status: "404",
    durationSeconds: 0.0004,
  });
  const exposition = await scrape(metrics);
  const produceOk = { transport: "grpc", method: "Produce", status: "OK", node: "n1" };
  assertEquals(valueOf(exposition, "strand_requests_total", produceOk), 2);
  assertEquals(valueOf(exposition, "strand_request_duration_seconds_count", produceOk), 2);
  assertEquals(valueOf(exposition, "strand_request_duration_seconds_sum", produceOk), 0.202);
  assertEquals(
    valueOf(exposition, "strand_request_duration_seconds_bucket", { ...produceOk, le: "0.0025" }),
    1,
  );
  assertEquals(
    valueOf(exposition, "strand_request_duration_seconds_bucket", { ...produceOk, le: "0.25" }),
    2,
  );
  assertEquals(
    valueOf(exposition, "strand_request_duration_seconds_bucket", { ...produceOk, le: "+Inf" }),
    2,
  );
  assertEquals(
    valueOf(exposition, "strand_requests_total", { transport: "http", status: "404" }),
    1,
  );
  assertEquals(exposition.types.get("strand_requests_total"), "counter");
  assertEquals(exposition.types.get("strand_request_duration_seconds"), "histogram");
});

Deno.test("records and bytes produced and consumed are counted by direction", async () => {
  const metrics = new Metrics();
  metrics.produced(3, 300);
  metrics.produced(1, 50);
  metrics.consumed(2, 120);
  const exposition = await scrape(metrics);
  assertEquals(valueOf(exposition, "strand_records_total", { direction: "produced" }), 4);
  assertEquals(valueOf(exposition, "strand_record_bytes_total", { direction: "produced" }), 350);
  assertEquals(valueOf(exposition, "strand_records_total", { direction: "consumed" }), 2);
  assertEquals(valueOf(exposition, "strand_record_bytes_total", { direction: "consumed" }), 120);
});

Deno.test("open streams go up and down, and a double close counts once", async () => {
  const metrics = new Metrics();
  const closeFirst = metrics.streamOpened("grpc", "ConsumeStream");
  const closeSecond = metrics.streamOpened("grpc", "ConsumeStream");
  const labels = { transport: "grpc", method: "ConsumeStream" };
  assertEquals(valueOf(await scrape(metrics), "strand_open_streams", labels), 2);
  closeFirst();
  closeFirst();
  assertEquals(valueOf(await scrape(metrics), "strand_open_streams", labels), 1);
  closeSecond();
  assertEquals(valueOf(await scrape(metrics), "strand_open_streams", labels), 0);
});

Deno.test("log gauges are read from the stats function on each scrape", async () => {
  const metrics = new Metrics();
  let stats: LogStats = { bytes: 0, segments: 1, firstOffset: 0, nextOffset: 0 };
  let reads = 0;
  metrics.registerLogStats(() => {
    reads++;
    return stats;
  });
  let exposition = await scrape(metrics);
  assertEquals(valueOf(exposition, "strand_log_last_offset"), -1);
  assertEquals(valueOf(exposition, "strand_log_segments"), 1);
  assert(reads > 0, "stats were read on scrape");
  stats = { bytes: 4096, segments: 3, firstOffset: 10, nextOffset: 42 };
  exposition = await scrape(metrics);
  assertEquals(
    [
      "strand_log_size_bytes",
      "strand_log_segments",
      "strand_log_first_offset",
      "strand_log_last_offset",
    ]
      .map((name) => valueOf(exposition, name)),
    [4096, 3, 10, 41],
  );
});

Deno.test("a throwing stats function reports NaN but does not fail the scrape", async () => {
  const metrics = new Metrics();
  metrics.registerLogStats(() => {
    throw new Error("Cannot read stats: the log is closed");
  });
  metrics.produced(1, 1);
  const exposition = await scrape(metrics);
  const segments = samplesOf(exposition, "strand_log_segments");
  assert(segments.length === 1 && Number.isNaN(segments[0]!.value), "NaN while unknown");
  assertEquals(valueOf(exposition, "strand_records_total", { direction: "produced" }), 1);
});

Deno.test("group commits feed batch size, write and fsync histograms; appends their latency", async () => {
  const metrics = new Metrics();
  metrics.logObserver.onGroupCommit({ entries: 5, bytes: 2000, writeMs: 1, fsyncMs: 3 });
  metrics.logObserver.onGroupCommit({ entries: 1, bytes: 100, writeMs: 2, fsyncMs: 0 });
  metrics.observeAppend(0.004);
  metrics.observeAppend(0.006);
  const exposition = await scrape(metrics);
  assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_count"), 2);
  assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_sum"), 6);
  assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_bucket", { le: "1" }), 1);
  assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_bucket", { le: "4" }), 1);
  assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_bucket", { le: "8" }), 2);
  assertEquals(valueOf(exposition, "strand_log_commit_batch_bytes_sum"), 2100);
  assertEquals(valueOf(exposition, "strand_log_write_duration_seconds_sum"), 0.003);
  assertEquals(
    valueOf(exposition, "strand_log_fsync_duration_seconds_count"),
    1,
    "unsynced groups are left out",
  );
  assertEquals(valueOf(exposition, "strand_log_fsync_duration_seconds_sum"), 0.003);
  assertEquals(valueOf(exposition, "strand_log_append_duration_seconds_count"), 2);
  assertEquals(valueOf(exposition, "strand_log_append_duration_seconds_sum"), 0.01);
});

Deno.test("raft and membership figures register through the same registry", async () => {
  const metrics = new Metrics();
  metrics.registerRaftStats(() => ({
    term: 7,
    role: "leader",
    commitIndex: 120,
    appliedIndex: 118,
    followerLagEntries: { n2: 0, n3: 14 },
  }));
  metrics.registerMembershipStats(() => ({ alive: 2, suspect: 1, dead: 0, left: 0 }));
  const exposition = await scrape(metrics);
  assertEquals(valueOf(exposition, "strand_raft_term"), 7);
  assertEquals(valueOf(exposition, "strand_raft_commit_index"), 120);
  assertEquals(valueOf(exposition, "strand_raft_applied_index"), 118);
  assertEquals(
    ["follower", "preCandidate", "candidate", "leader"].map((role) =>
      valueOf(exposition, "strand_raft_role", { role })
    ),
    [0, 0, 0, 1],
  );
  assertEquals(valueOf(exposition, "strand_raft_follower_lag_entries", { peer: "n3" }), 14);
  assertEquals(valueOf(exposition, "strand_members", { state: "suspect" }), 1);
  assertEquals(valueOf(exposition, "strand_members", { state: "alive" }), 2);
});

Deno.test("generic registration enforces Prometheus naming", async () => {
  const metrics = new Metrics();
  const elections = metrics.counter({
    name: "strand_raft_elections_total",
    help: "Elections started.",
  });
  elections.inc();
  assertEquals(valueOf(await scrape(metrics), "strand_raft_elections_total"), 1);
  const error = assertThrows(
    () => metrics.counter({ name: "strand_raft_elections", help: "x" }),
    /Cannot register metric "strand_raft_elections"/,
  );
  assert(error instanceof ObserveError);
  assertThrows(() => metrics.gauge({ name: "raft_term", help: "x" }), /Cannot register metric/);
  assertThrows(() => metrics.gauge({ name: "strand_things_total", help: "x" }), /only counters/);
});

Deno.test("two nodes in one process keep separate registries", async () => {
  const first = new Metrics();
  const second = new Metrics();
  first.produced(5, 5);
  assertEquals(valueOf(await scrape(second), "strand_records_total", { direction: "produced" }), 0);
  assertEquals(valueOf(await scrape(first), "strand_records_total", { direction: "produced" }), 5);
});

Deno.test("process metrics are opt-in and use the standard unprefixed names", async () => {
  const plain = await scrape(new Metrics());
  assertEquals(samplesOf(plain, "process_resident_memory_bytes").length, 0);
  const withProcess = await scrape(new Metrics({ processMetrics: true }));
  assert(valueOf(withProcess, "process_resident_memory_bytes") > 0, "resident memory reported");
  assert(valueOf(withProcess, "nodejs_heap_size_used_bytes") > 0, "heap reported");
});
