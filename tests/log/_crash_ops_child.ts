/**
 * The child of the truncate/restart crash test: opens the log in `Deno.args[0]`, prints
 * `start`, runs one operation, prints `done` once it resolved, then waits to be killed.
 * Usage: deno run -A tests/log/_crash_ops_child.ts <dir> truncate <fromIndex>
 *        deno run -A tests/log/_crash_ops_child.ts <dir> restart <index> <term> <nextOffset>
 * @module
 */

import { openLog } from "../../log/mod.ts";

export const CRASH_OPS_SEGMENT_BYTES = 2000;

if (import.meta.main) {
  const [dir, op, ...numbers] = Deno.args;
  const [a = 0, b = 0, c = 0] = numbers.map(Number);
  const log = await openLog(dir!, { segmentBytesMax: CRASH_OPS_SEGMENT_BYTES });
  const encoder = new TextEncoder();
  Deno.stdout.writeSync(encoder.encode("start\n"));
  if (op === "truncate") await log.truncateSuffix(a);
  else await log.restartAt(a, b, c);
  Deno.stdout.writeSync(encoder.encode("done\n"));
  // Stays alive (holding the log open, never closing it) until the parent's SIGKILL.
  setInterval(() => {}, 60_000);
}
