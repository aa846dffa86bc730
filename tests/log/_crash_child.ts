/**
 * The child of the crash test: appends to the log in `Deno.args[0]` under `always` from
 * several concurrent writers, forever, printing `ack <offset> <value>` once each append has
 * resolved (so is fsynced). The parent SIGKILLs it at a moment of its choosing.
 * Usage: deno run -A tests/log/_crash_child.ts <dir> <round>
 * @module
 */

import { openLog } from "../../log/mod.ts";
import { crashValue } from "./_crash_values.ts";

const WRITERS = 8;
const [dir, roundText] = Deno.args;
if (dir === undefined || roundText === undefined) throw new Error("usage: <dir> <round>");
const round = Number(roundText);
const log = await openLog(dir, { segmentBytesMax: 16 * 1024 });
const encoder = new TextEncoder();

async function writer(id: number): Promise<void> {
  // Runs until the parent kills the process; bounded by that, not by a count.
  for (let seq = 0;; seq++) {
    const value = crashValue(round, id, seq);
    const { baseOffset } = await log.append([value]);
    Deno.stdout.writeSync(encoder.encode(`ack ${baseOffset} ${round} ${id} ${seq}\n`));
  }
}

Deno.stdout.writeSync(encoder.encode("ready\n"));
await Promise.all(Array.from({ length: WRITERS }, (_, id) => writer(id)));
