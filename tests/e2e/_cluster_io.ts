/** Writes and reads for the cluster e2e tests, tolerant of elections (bounded retries). */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { assertEquals, decoder, encoder } from "../server/_assert.ts";
import { type Member, until } from "./_cluster.ts";

/** Produces `value` through `member`, retrying while the cluster has no leader (bounded). */
export async function produceAcked(
  member: Member,
  value: string,
  timeoutMs = 10_000,
): Promise<number> {
  return await until(
    `produce ${value} via ${member.name}`,
    async () => {
      try {
        return await member.client.produce(encoder.encode(value));
      } catch (error) {
        if ((error as { code?: number }).code === GrpcStatus.UNAVAILABLE) return null;
        throw error;
      }
    },
    timeoutMs,
    50,
  );
}

/** Every acknowledged record is readable at its offset from `member`. */
export async function assertHolds(member: Member, acked: Map<number, string>): Promise<void> {
  for (const [offset, value] of acked) {
    const record = await until(`offset ${offset} on ${member.name}`, async () => {
      try {
        return await member.client.consume(offset);
      } catch (error) {
        if ((error as { code?: number }).code === GrpcStatus.UNAVAILABLE) return null;
        throw error;
      }
    });
    assertEquals(decoder.decode(record.value), value, `${member.name} offset ${offset}`);
  }
}

/** How many leader changes `member` logged. */
export function leaderChanges(member: Member): number {
  return member.node.output().split("\n").filter((line) => line.includes("leader changed")).length;
}

/**
 * The first offset `member` retains, from what it answers for offset 0 (no metrics needed,
 * so it works under TLS): 0 when it serves it, else the start its OUT_OF_RANGE names.
 */
export async function retainedStart(member: Member): Promise<number> {
  const failure = await member.client.consume(0).then(() => null, (error) => error as Error);
  if (failure === null) return 0;
  const start = /holds offsets (\d+) to/.exec(String(failure))?.[1];
  if (start === undefined) throw failure;
  return Number(start);
}

/**
 * Reads every record `member` holds from its first offset to `end` and checks each against
 * `acked`. A member with retention may move its start while this runs: a read below the new
 * start must then be OUT_OF_RANGE with the start past it, and the walk resumes there. Returns
 * the first offset it read.
 */
export async function assertRetained(
  member: Member,
  end: number,
  acked: Map<number, string>,
): Promise<number> {
  const readFrom = await retainedStart(member);
  for (let offset = readFrom; offset <= end; offset++) {
    const record = await member.client.consume(offset).catch((error) => error as Error);
    if (!(record instanceof Error)) {
      assertEquals(decoder.decode(record.value), acked.get(offset), `${member.name} @${offset}`);
      continue;
    }
    // Only the start may have moved past this offset (retention), nothing else.
    const code = (record as { code?: number }).code;
    assertEquals(code, GrpcStatus.OUT_OF_RANGE, `${member.name} @${offset}: ${record}`);
    const moved = await retainedStart(member);
    if (moved <= offset) throw new Error(`${member.name} refused ${offset}, starting at ${moved}`);
    offset = moved - 1;
  }
  return readFrom;
}
