import { openLog } from "../../log/mod.ts";
import { SeededRandom } from "../sim/random.ts";
import { assert, assertEquals } from "./_assert.ts";
import { CRASH_OPS_SEGMENT_BYTES } from "./_crash_ops_child.ts";
import { killQuietly, valueOf, withTempDir } from "./_fixtures.ts";

const ROUNDS = 16;
const SEED = 7;
const ENTRIES = 60;
const CHILD = new URL("./_crash_ops_child.ts", import.meta.url).pathname;
const OPTIONS = { segmentBytesMax: CRASH_OPS_SEGMENT_BYTES };

/**
 * Runs the child and SIGKILLs it `killDelayMs` after it printed `start` (the crash moment,
 * drawn from the seed: fault injection, not synchronisation), or after `done` if `waitDone`.
 */
async function crashDuring(
  args: string[],
  waitDone: boolean,
  killDelayMs: number,
): Promise<boolean> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  try {
    // Ends on the awaited line or when the child's output ends.
    while (!output.includes(waitDone ? "done\n" : "start\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      output += value;
    }
    if (!waitDone) await new Promise((resolve) => setTimeout(resolve, killDelayMs));
  } finally {
    killQuietly(child);
    await reader.cancel();
    await child.status;
  }
  assert(output.includes("start\n"), "the child started its operation");
  return output.includes("done\n");
}

async function fill(dir: string): Promise<void> {
  const log = await openLog(dir, OPTIONS);
  for (let i = 0; i < ENTRIES; i++) await log.append([valueOf(i)], { term: 1 + (i >> 4) });
  await log.close();
}

Deno.test(`crash: truncation and restart are atomic or leave a prefix (seed=${SEED})`, async () => {
  const random = new SeededRandom(SEED);
  for (let round = 0; round < ROUNDS; round++) {
    await withTempDir(async (dir) => {
      await fill(dir);
      const waitDone = random.chance(0.25);
      const killDelayMs = random.intBetween(0, 25);
      if (round % 2 === 0) {
        const from = random.intBetween(1, ENTRIES);
        const done = await crashDuring([dir, "truncate", String(from)], waitDone, killDelayMs);
        const log = await openLog(dir, OPTIONS);
        const last = log.lastIndex();
        assert(last >= from - 1 && last <= ENTRIES, `round ${round}: last ${last}, from ${from}`);
        if (done) assertEquals(last, from - 1, `round ${round}: a resolved truncation holds`);
        for (let i = 0; i < last; i++) assertEquals(log.read(i).value, valueOf(i));
        await log.close();
      } else {
        const done = await crashDuring(
          [dir, "restart", "1000", "9", "5000"],
          waitDone,
          killDelayMs,
        );
        const log = await openLog(dir, OPTIONS);
        const restarted = log.firstIndex() === 1001;
        if (done) assert(restarted, `round ${round}: a resolved restart holds`);
        if (restarted) {
          assertEquals([log.lastIndex(), log.termAt(1000), log.nextOffset()], [1000, 9, 5000]);
        } else {
          assertEquals([log.firstIndex(), log.lastIndex()], [1, ENTRIES], `round ${round}`);
          for (let i = 0; i < ENTRIES; i++) assertEquals(log.read(i).value, valueOf(i));
        }
        await log.close();
      }
    });
  }
});
