/**
 * Batch data: opaque bytes stored with a record batch (the agent's producer id and sequence).
 * They survive a reopen and Raft's appendEntries, a batch without them keeps the frame format
 * of earlier versions byte for byte, and unknown frame flags are damage.
 */
import { type Entry, EntryKind, MemoryLog, openLog } from "../../log/mod.ts";
import { decodeFrame, encodeFrame, frameBytes, frameDefect } from "../../log/_codec.ts";
import { crc32c } from "../../log/_crc32c.ts";
import { assert, assertEquals, assertRejectsLog, bytes } from "./_assert.ts";
import { withTempDir } from "./_fixtures.ts";

Deno.test("batch data is stored with the records and read back after a reopen", () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    await log.append([bytes("a"), bytes("b")], { data: bytes("producer-1") });
    await log.append([bytes("c")]);
    await log.appendEntries([{
      term: 1,
      index: 3,
      kind: EntryKind.Records,
      baseOffset: 3,
      records: [bytes("d")],
      data: bytes("producer-2"),
    }]);
    await log.close();
    const reopened = await openLog(dir);
    try {
      const entries = reopened.entries(1, 4, 1 << 20);
      assertEquals(entries.map((entry) => entry.data), [
        bytes("producer-1"),
        new Uint8Array(0),
        bytes("producer-2"),
      ]);
      assertEquals(entries.map((entry) => entry.records.length), [2, 1, 1]);
      assertEquals([reopened.read(1).value, reopened.read(3).value], [bytes("b"), bytes("d")]);
    } finally {
      await reopened.close();
    }
  }));

Deno.test("batch data is bounded (1 KiB): it is metadata, not payload", async () => {
  const log = new MemoryLog();
  await assertRejectsLog(
    log.append([bytes("a")], { data: new Uint8Array(1025) }),
    "INVALID_ARGUMENT",
    "batch data",
  );
  await log.append([bytes("a")], { data: new Uint8Array(1024) });
  assertEquals(log.entries(1, 2, 1 << 20)[0]!.data.length, 1024);
});

function records(data: Uint8Array): Entry {
  return {
    term: 2,
    index: 5,
    kind: EntryKind.Records,
    baseOffset: 9,
    records: [bytes("xy")],
    data,
  };
}

Deno.test("a batch without data keeps the earlier frame format (flags 0, records right after the header)", () => {
  const entry = records(new Uint8Array(0));
  const frame = new Uint8Array(frameBytes(entry));
  encodeFrame(entry, 1234, frame, 0);
  assertEquals(frame.length, 48 + 4 + 2);
  assertEquals(frame[9], 0, "no flags");
  assertEquals([...frame.subarray(48)], [2, 0, 0, 0, 0x78, 0x79]);
  const withData = records(bytes("pq"));
  const flagged = new Uint8Array(frameBytes(withData));
  encodeFrame(withData, 1234, flagged, 0);
  assertEquals(flagged[9], 1, "flag: the payload starts with the data");
  assertEquals(decodeFrame(flagged, 0, flagged.length, 5, "test").entry.data, bytes("pq"));
});

Deno.test("a frame with unknown flags is damage, even with a valid checksum", () => {
  const entry = records(new Uint8Array(0));
  const frame = new Uint8Array(frameBytes(entry));
  encodeFrame(entry, 1234, frame, 0);
  frame[9] = 2;
  new DataView(frame.buffer).setUint32(4, crc32c(frame, 0, 8, frame.length), true);
  const defect = frameDefect(frame, 0, frame.length);
  assert(defect !== null && defect.includes("unknown flags"), String(defect));
});
