import { MemoryLog } from "../../log/mod.ts";
import { assertEquals, bytes } from "./_assert.ts";
import { runConformance } from "./conformance.ts";

runConformance("MemoryLog", (options) => {
  const log = new MemoryLog(options);
  return Promise.resolve({
    log,
    dispose: () => log.close().catch(() => {}),
  });
});

Deno.test("MemoryLog copies appended entries so callers may reuse their buffers", async () => {
  const log = new MemoryLog();
  const value = bytes("abc");
  await log.appendEntries([{
    term: 1,
    index: 1,
    kind: 1,
    baseOffset: 0,
    records: [value],
    data: new Uint8Array(0),
  }]);
  value[0] = 0;
  assertEquals(log.read(0).value, bytes("abc"));
});
