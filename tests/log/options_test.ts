import { openLog, parseFsyncPolicy } from "../../log/mod.ts";
import { assertEquals, assertRejectsLog, assertThrowsLog } from "./_assert.ts";

Deno.test("parseFsyncPolicy reads always, never and interval=<ms>", () => {
  assertEquals(parseFsyncPolicy("always"), { mode: "always" });
  assertEquals(parseFsyncPolicy("never"), { mode: "never" });
  assertEquals(parseFsyncPolicy("interval=100"), { mode: "interval", intervalMs: 100 });
});

Deno.test("parseFsyncPolicy rejects anything else with the accepted forms", () => {
  for (
    const bad of ["", "Always", "interval", "interval=", "interval=0", "interval=-5", "sometimes"]
  ) {
    assertThrowsLog(() => parseFsyncPolicy(bad), "INVALID_ARGUMENT", '"interval=<ms>"');
  }
});

Deno.test("openLog rejects invalid options before touching the directory", async () => {
  const dir = `${await Deno.makeTempDir()}/never-created`;
  await assertRejectsLog(
    openLog(dir, { segmentBytesMax: 0 }),
    "INVALID_ARGUMENT",
    "segmentBytesMax",
  );
  await assertRejectsLog(
    openLog(dir, { recordBytesMax: 10, batchBytesMax: 5 }),
    "INVALID_ARGUMENT",
    "batchBytesMax",
  );
  await assertRejectsLog(
    openLog(dir, { fsync: { mode: "interval", intervalMs: 0 } }),
    "INVALID_ARGUMENT",
    "intervalMs",
  );
  let exists = true;
  await Deno.stat(dir).catch(() => exists = false);
  assertEquals(exists, false);
  await Deno.remove(dir.slice(0, dir.lastIndexOf("/")), { recursive: true });
});
