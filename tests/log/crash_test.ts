import { openLog } from "../../log/mod.ts";
import { SeededRandom } from "../sim/random.ts";
import { assert, assertEquals } from "./_assert.ts";
import { parseCrashValue } from "./_crash_values.ts";
import { killQuietly, withTempDir } from "./_fixtures.ts";

const ROUNDS = 20;
const SEED = 20261128;
const CHILD = new URL("./_crash_child.ts", import.meta.url).pathname;

/** Starts the child, waits for `acksWanted` acknowledged appends, SIGKILLs it; returns acks. */
async function crashRound(dir: string, round: number, acksWanted: number): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, dir, String(round)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const acks: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  try {
    // Ends when enough acks arrived or the child's output ends (then the check below fails).
    while (acks.length < acksWanted) {
      const { value, done } = await reader.read();
      if (done) break;
      const lines = (pending + value).split("\n");
      pending = lines.pop()!;
      for (const line of lines) if (line.startsWith("ack ")) acks.push(line);
    }
  } finally {
    killQuietly(child);
    await reader.cancel();
    await child.status;
  }
  assert(acks.length >= acksWanted, `round ${round}: the child stopped after ${acks.length} acks`);
  return acks;
}

Deno.test(`crash: ${ROUNDS} SIGKILLed writers leave a prefix holding every acked append (seed=${SEED})`, () =>
  withTempDir(async (dir) => {
    const random = new SeededRandom(SEED);
    const acked = new Map<number, string>();
    let survivedBefore = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const acks = await crashRound(dir, round, random.intBetween(1, 300));
      for (const ack of acks) {
        const [, offset, r, w, s] = ack.split(" ");
        acked.set(Number(offset), `${r}:${w}:${s}`);
      }
      const log = await openLog(dir, { segmentBytesMax: 16 * 1024 });
      try {
        const next = log.nextOffset();
        assert(next >= survivedBefore, `round ${round}: the log shrank below an earlier recovery`);
        const nextSeq = new Map<string, number>();
        for (let offset = 0; offset < next; offset++) {
          const identity = parseCrashValue(log.read(offset).value);
          assert(identity !== null, `round ${round}: offset ${offset} holds a damaged value`);
          const writer = `${identity.round}:${identity.writer}`;
          assertEquals(
            identity.seq,
            nextSeq.get(writer) ?? 0,
            `round ${round}: a hole at ${offset}`,
          );
          nextSeq.set(writer, identity.seq + 1);
          const expected = acked.get(offset);
          const found = `${identity.round}:${identity.writer}:${identity.seq}`;
          if (expected !== undefined) assertEquals(found, expected, `offset ${offset}`);
        }
        for (const offset of acked.keys()) {
          assert(offset < next, `round ${round}: acked offset ${offset} is lost (next ${next})`);
        }
        survivedBefore = next;
      } finally {
        await log.close();
      }
    }
  }));
