/**
 * The path from a quorum's acknowledgement to the client: committed entries are applied from
 * memory (not read back from the store), and at once, even while the leader's next write is
 * in flight.
 */
import { type Entry, MemoryLog } from "../../log/mod.ts";
import { type Message, MessageType, RaftCore, RaftNode } from "../../raft/mod.ts";
import { assert, assertEquals, fixedRandom, records } from "./_harness.ts";
import { driverCluster, MemoryMeta, until } from "./_fixture.ts";

/** A MemoryLog that counts reads of entries and can hold its next appends. */
class WatchedLog extends MemoryLog {
  entryReads = 0;
  #held: Promise<void> | null = null;
  #release: () => void = () => {};
  /** Resolves when an append starts waiting behind `hold()`. */
  appendHeld = Promise.withResolvers<void>();

  override entries(fromIndex: number, toIndex: number, bytesMax: number): Entry[] {
    this.entryReads++;
    return super.entries(fromIndex, toIndex, bytesMax);
  }

  /** Appends wait (not yet durable) until `release()`. */
  hold(): void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#held = promise;
    this.#release = resolve;
  }

  release(): void {
    this.#held = null;
    this.#release();
  }

  get holding(): boolean {
    return this.#held !== null;
  }

  override async appendEntries(entries: readonly Entry[]): Promise<void> {
    if (this.#held !== null) {
      this.appendHeld.resolve();
      await this.#held;
    }
    return super.appendEntries(entries);
  }
}

/** Runs a single-voter core's Ready loop as the driver does; returns what it applied. */
async function drive(core: RaftCore, store: MemoryLog): Promise<Entry[]> {
  const applied: Entry[] = [];
  for (let round = 0; round < 100 && core.hasReady(); round++) {
    const ready = core.ready();
    applied.push(...ready.committed);
    if (ready.persist.entries.length > 0) await store.appendEntries(ready.persist.entries);
    core.advance(ready);
  }
  return applied;
}

function singleVoter(store: MemoryLog): RaftCore {
  return new RaftCore({
    id: "a",
    store,
    random: fixedRandom,
    persisted: null,
    bootstrap: { voters: ["a"], learners: [] },
    electionTimeoutTicks: 2,
  });
}

async function elected(core: RaftCore, store: MemoryLog): Promise<void> {
  for (let i = 0; i < 10 && core.status().role !== "leader"; i++) {
    core.tick();
    await drive(core, store);
  }
  assertEquals(core.status().role, "leader");
}

Deno.test("apply path: committed entries are handed out from memory, not read back from the store", async () => {
  const store = new WatchedLog();
  const core = singleVoter(store);
  await elected(core, store);
  store.entryReads = 0;
  const applied: Entry[] = [];
  for (let i = 0; i < 20; i++) {
    core.propose(records(`v${i}`));
    applied.push(...await drive(core, store));
  }
  const values = applied.flatMap((entry) =>
    entry.records.map((record) => new TextDecoder().decode(record))
  );
  assertEquals(values, Array.from({ length: 20 }, (_, i) => `v${i}`));
  assertEquals(store.entryReads, 0, "applying read the store back");
});

Deno.test("apply path: entries past the memory bound are read from the store, intact", async () => {
  const store = new WatchedLog({ recordBytesMax: 4 << 20, batchBytesMax: 4 << 20 });
  const core = singleVoter(store);
  await elected(core, store);
  // Four 3 MiB entries made durable together: more than the 8 MiB kept in memory.
  const big = (tag: number) => [new Uint8Array(3 << 20).fill(tag)];
  for (let tag = 1; tag <= 4; tag++) core.propose(big(tag));
  store.entryReads = 0;
  const applied = await drive(core, store);
  const tags = applied.filter((entry) => entry.records.length > 0).map((entry) => {
    const record = entry.records[0] as Uint8Array;
    assert(record.every((byte) => byte === record[0]), `entry ${entry.index} is damaged`);
    return record[0];
  });
  assertEquals(tags, [1, 2, 3, 4]);
  assert(store.entryReads > 0, "the oldest entries should have come from the store");
});

Deno.test("apply path: an acknowledgement arriving during the leader's next write resolves the proposal at once", async () => {
  const stores = new Map<string, WatchedLog>();
  // Append answers to the leader are held here while `holdAcks` is set.
  let holdAcks = false;
  const heldAcks: Message[] = [];
  let ackHeld = Promise.withResolvers<void>();
  const net = driverCluster({
    store: (id) => {
      const store = new WatchedLog();
      stores.set(id, store);
      return store;
    },
    extra: () => ({ requestTimeoutMs: 3_000 }),
    hold: (message) => {
      if (!holdAcks || message.type !== MessageType.AppendResponse) return false;
      heldAcks.push(message);
      ackHeld.resolve();
      return true;
    },
  });
  try {
    const leader = await net.leader();
    const leaderStore = stores.get(leader.id)!;
    await leader.propose(records("warm-up"));
    // The first entry is durable on every node; its acknowledgements are held back.
    holdAcks = true;
    const first = leader.propose(records("first"));
    const firstIndex = leader.status().lastIndex;
    while (!heldAcks.some((m) => m.type === MessageType.AppendResponse && m.index >= firstIndex)) {
      ackHeld = Promise.withResolvers<void>();
      await ackHeld.promise;
    }
    assert(leaderStore.lastIndex() >= firstIndex, "the leader has the first entry durably");
    // The leader's next write hangs; the held acknowledgements arrive meanwhile.
    leaderStore.hold();
    const second = leader.propose(records("second"));
    await leaderStore.appendHeld.promise;
    holdAcks = false;
    for (const message of heldAcks.splice(0)) net.deliver(message);
    const committed = await first;
    assertEquals(committed.baseOffset, 1);
    assert(leaderStore.holding, "the first proposal waited for the second one's write");
    leaderStore.release();
    assertEquals((await second).baseOffset, 2);
  } finally {
    for (const store of stores.values()) store.release();
    await net.close();
  }
});

Deno.test("apply path: entries are applied in order even when applying one proposes again", async () => {
  const store = new MemoryLog();
  const appliedIndexes: number[] = [];
  let node: RaftNode | null = null;
  let reentered = false;
  node = new RaftNode({
    id: "a",
    store,
    meta: new MemoryMeta(),
    bootstrap: { voters: ["a"], learners: [] },
    tickMs: 5,
    requestTimeoutMs: 3_000,
    // Two 4-byte entries per Ready: the rest of what is committed stays for later.
    applyBytesMax: 10,
    send: () => {},
    onApply: (entry) => {
      appliedIndexes.push(entry.index);
      // A proposal made from inside an apply, while later entries are committed and waiting
      // (v002 to v006 are written together; v002 and v003 fill the first Ready's share).
      const value = new TextDecoder().decode(entry.records[0] ?? new Uint8Array());
      if (value === "v002" && !reentered) {
        reentered = true;
        node!.propose(records("late")).catch(() => {});
      }
    },
  });
  try {
    await until(() => node!.status().role === "leader", "a to lead");
    const proposals = ["v001", "v002", "v003", "v004", "v005", "v006"].map((value) =>
      node!.propose(records(value))
    );
    await Promise.all(proposals);
    const sorted = appliedIndexes.toSorted((x, y) => x - y);
    assertEquals(appliedIndexes, sorted, "entries were applied out of order");
  } finally {
    await node.close();
  }
});
