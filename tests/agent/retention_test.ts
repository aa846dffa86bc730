/**
 * Retention on a cluster member: the agent removes segments the limits let go, never an entry
 * above the applied index, and the log's own retention never runs underneath Raft.
 */
import {
  compactApplied,
  registerRetentionMetrics,
  scheduleClusterRetention,
} from "../../agent/_retention.ts";
import { startAgent } from "../../agent/mod.ts";
import { LogClient } from "../../client/mod.ts";
import { openLog } from "../../log/mod.ts";
import { Metrics } from "../../observe/mod.ts";
import { assert, assertEquals, eventually } from "../server/_assert.ts";
import { withTempDir } from "../log/_fixtures.ts";

const value = (i: number) => new TextEncoder().encode(`record-${i}`.padEnd(60, "."));

Deno.test("retention: a pass never removes an entry above the applied index", async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytesMax: 500 });
    try {
      for (let i = 0; i < 30; i++) await log.append([value(i)], { term: 1 });
      const last = log.lastIndex();
      assertEquals(log.retentionPoint({ retentionBytes: 0 }) > 1, true, "limits let segments go");
      assertEquals(log.firstIndex(), 1, "retentionPoint deletes nothing");

      const wanted = log.retentionPoint({ retentionBytes: 0 });
      const held = await compactApplied(log, { retentionBytes: 0 }, 7);
      assert(held.firstIndex > 1 && held.firstIndex <= 8, `first ${held.firstIndex}`);
      // Held back: every entry still here below where the limits alone would have cut.
      assertEquals(held.firstIndex + held.heldBack, wanted, "held back from the first kept");
      // Every entry from the applied index on is still there, with its records.
      const entries = log.entries(8, last + 1, 1 << 20);
      assertEquals(entries.length, last - 7);
      assertEquals(log.read(held.firstOffset).offset, held.firstOffset);

      const all = await compactApplied(log, { retentionBytes: 0 }, last);
      assertEquals(all.heldBack, 0);
      assert(all.firstIndex > held.firstIndex, "once applied, the rest goes");
      assertEquals(log.lastIndex(), last, "the active segment always stays");
      assertEquals(await compactApplied(log, {}, last), { ...all, heldBack: 0 }, "no limits");
    } finally {
      await log.close();
    }
  });
});

Deno.test("retention: age limits go through the same bound", async () => {
  await withTempDir(async (dir) => {
    let nowMs = 1_000_000;
    const log = await openLog(dir, { segmentBytesMax: 200, clock: () => nowMs });
    try {
      for (let i = 0; i < 20; i++) await log.append([value(i)], { term: 1 });
      assertEquals((await compactApplied(log, { retentionMs: 1000 }, 20)).firstIndex, 1, "young");
      nowMs += 5000;
      const result = await compactApplied(log, { retentionMs: 1000 }, 3);
      assert(result.firstIndex > 1 && result.firstIndex <= 4, `first ${result.firstIndex}`);
    } finally {
      await log.close();
    }
  });
});

Deno.test("retention: in a cluster the agent runs it, not the log on its own schedule", async () => {
  await withTempDir(async (dir) => {
    const start = (retentionCheckMs: number) =>
      startAgent({
        dataDir: dir,
        nodeName: "solo",
        bindHost: "127.0.0.1",
        rpcPort: 0,
        httpPort: 0,
        log: { segmentBytesMax: 300, retentionBytes: 1 },
        retentionCheckMs,
        cluster: { bootstrap: true, joinAddrs: [], gossipPort: 0, gossipKey: null },
      });
    // The agent's pass is an hour away: rolling segments must delete nothing meanwhile.
    let agent = await start(3_600_000);
    let client = new LogClient(`127.0.0.1:${agent.rpcPort}`);
    try {
      await eventually(() => agent.cluster!.status().role === "leader", "leader");
      for (let i = 0; i < 40; i++) await client.produce(value(i));
      const first = await client.consume(0);
      assertEquals(new TextDecoder().decode(first.value), new TextDecoder().decode(value(0)));
    } finally {
      client.close();
      await agent.shutdown();
    }
    // With the agent's pass on, the old segments go (applied, beyond the limit).
    agent = await start(50);
    client = new LogClient(`127.0.0.1:${agent.rpcPort}`);
    try {
      await eventually(() => agent.cluster!.status().role === "leader", "leader");
      await eventually(
        () => client.consume(0).then(() => false, (error) => error.code === 11),
        "offset 0 removed by retention (OUT_OF_RANGE)",
      );
      const last = await client.consume(39);
      assertEquals(last.offset, 39);
    } finally {
      client.close();
      await agent.shutdown();
    }
  });
});

Deno.test("retention: strand_retention_held_back_entries shows what the applied index holds back", async () => {
  await withTempDir(async (dir) => {
    const log = await openLog(dir, { segmentBytesMax: 200 });
    const metrics = new Metrics();
    const gauge = async () => {
      const text = await metrics.exposition();
      const match = /^strand_retention_held_back_entries (\d+)$/m.exec(text);
      return match === null ? null : Number(match[1]);
    };
    try {
      for (let i = 0; i < 30; i++) await log.append([value(i)], { term: 1 });
      let applied = 3;
      const retention = scheduleClusterRetention(log, { retentionBytes: 0 }, () => applied, {
        everyMs: 10,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      registerRetentionMetrics(metrics, retention);
      try {
        const wanted = log.retentionPoint({ retentionBytes: 0 });
        await eventually(async () => (await gauge() ?? 0) > 0, "held back while unapplied");
        assertEquals(await gauge(), wanted - log.firstIndex());
        assert(log.firstIndex() <= applied + 1, "nothing unapplied removed");
        applied = log.lastIndex();
        await eventually(async () => await gauge() === 0, "no longer held back once applied");
        assertEquals(log.firstIndex(), wanted, "the limits alone decide once applied");
      } finally {
        await retention.stop();
      }
    } finally {
      await log.close();
    }
  });
});
