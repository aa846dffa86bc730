import { EntryKind, LogError } from "../log/types.ts";

Deno.test("LogError carries its code", () => {
  const error = new LogError("CORRUPT", "Cannot read entry 3: checksum mismatch");
  if (error.code !== "CORRUPT" || !(error instanceof Error)) throw new Error("bad LogError");
  if (EntryKind.Records !== 1) throw new Error("EntryKind changed");
});
