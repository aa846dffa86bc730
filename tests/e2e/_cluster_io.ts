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
