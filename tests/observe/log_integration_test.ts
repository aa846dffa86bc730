/**
 * observe/ against the real file log: its group-commit observer and stats function plug into
 * Metrics without glue (structural types), and the figures move as records go in and out.
 */

import { openLog } from "../../log/mod.ts";
import { Metrics, observeCommitLog, withGroupCommitSpans } from "../../observe/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { parseExposition, valueOf } from "./_exposition.ts";

Deno.test("the file log feeds group-commit histograms and scrape-time gauges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "strand_observe_" });
  const metrics = new Metrics();
  const fileLog = await openLog(dir, {
    fsync: { mode: "always" },
    observer: withGroupCommitSpans(metrics.logObserver),
  });
  try {
    metrics.registerLogStats(() => fileLog.stats());
    const log = observeCommitLog(fileLog, { metrics });
    const value = new Uint8Array(100);
    // Concurrent appends: the log may coalesce them into fewer group commits.
    await Promise.all(Array.from({ length: 8 }, () => log.append([value, value])));
    assertEquals(log.read(3).value.byteLength, 100);
    assertEquals(log.readFrom(10, 1 << 20).length, 6);

    const exposition = parseExposition(await metrics.exposition());
    const groups = valueOf(exposition, "strand_log_commit_batch_entries_count");
    assert(groups >= 1 && groups <= 8, `1..8 group commits, got ${groups}`);
    assertEquals(valueOf(exposition, "strand_log_commit_batch_entries_sum"), 8);
    assert(
      valueOf(exposition, "strand_log_commit_batch_bytes_sum") > 1600,
      "frames hold the values",
    );
    assertEquals(valueOf(exposition, "strand_log_fsync_duration_seconds_count"), groups);
    assertEquals(valueOf(exposition, "strand_log_append_duration_seconds_count"), 8);
    assertEquals(valueOf(exposition, "strand_records_total", { direction: "produced" }), 16);
    assertEquals(valueOf(exposition, "strand_record_bytes_total", { direction: "produced" }), 1600);
    assertEquals(valueOf(exposition, "strand_records_total", { direction: "consumed" }), 7);
    assertEquals(valueOf(exposition, "strand_log_first_offset"), 0);
    assertEquals(valueOf(exposition, "strand_log_last_offset"), 15);
    assertEquals(valueOf(exposition, "strand_log_segments"), 1);
    assert(valueOf(exposition, "strand_log_size_bytes") > 1600, "size counts the files");
  } finally {
    await fileLog.close();
    await Deno.remove(dir, { recursive: true });
  }
});
