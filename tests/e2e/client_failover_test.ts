/**
 * The cluster client against three real nodes started as `deno task start` does: given one
 * follower's address, it keeps producing through a SIGKILL of the leader; afterwards every
 * node holds each record once, in order.
 */
import { status } from "@grpc/grpc-js";
import { PRODUCER_ID_ON_WIRE, StrandClient } from "../../client/mod.ts";
import { assertEquals, decoder, encoder } from "../server/_assert.ts";
import { rawClient } from "../server/_harness.ts";
import { type Member, TestCluster, until } from "./_cluster.ts";

const NAMES = ["n1", "n2", "n3"];
const RECORDS = 60;
const KILL_AFTER = 20;

/** Every record `member` holds, in offset order. */
async function valuesOf(member: Member): Promise<string[]> {
  const values: string[] = [];
  for await (const record of member.client.consumeStream(0, { stopAtEnd: true })) {
    values.push(decoder.decode(record.value));
  }
  return values;
}

/**
 * Produces `value`. With producer ids on the wire the client retries by itself; without them an
 * unknown outcome reaches the caller, who may only produce again (and may duplicate).
 */
async function produce(client: StrandClient, value: string): Promise<void> {
  if (PRODUCER_ID_ON_WIRE) {
    await client.produce(encoder.encode(value));
    return;
  }
  await until(
    `produce ${value}`,
    async () => {
      try {
        return await client.produce(encoder.encode(value));
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) return null;
        throw error;
      }
    },
    20_000,
    0,
  );
}

Deno.test("client e2e: given one follower's address, the client produces through a leader SIGKILL with no loss, and no duplicate where the server deduplicates", async () => {
  const cluster = await TestCluster.start(NAMES);
  const leader = (await cluster.leader())!;
  const follower = NAMES.find((name) => name !== leader)!;
  const client = new StrandClient(cluster.get(follower).node.rpcAddr, {
    retry: { deadlineMs: 20_000 },
  });
  try {
    // Does the server deduplicate? The same producer id and sequence twice tells.
    const raw = rawClient(Number(cluster.get(leader).node.rpcAddr.split(":").pop()));
    const probe = { record: { value: encoder.encode("probe") }, producerId: "probe", sequence: 1 };
    await raw.call("produce", probe);
    const again = await raw.call("produce", probe) as { duplicate?: boolean };
    raw.close();
    const dedupes = PRODUCER_ID_ON_WIRE && again.duplicate === true;
    const probes = dedupes ? ["probe"] : ["probe", "probe"];
    const expected = Array.from({ length: RECORDS }, (_, i) => `r${i}`);
    for (const [i, value] of expected.entries()) {
      if (i === KILL_AFTER) {
        assertEquals(client.members.find((m) => m.isLeader)?.id, leader);
        await cluster.stop(leader, "SIGKILL");
      }
      await produce(client, value);
    }
    await until(
      () =>
        `the client to follow the new leader (it follows ${
          client.members.find((m) => m.isLeader)?.id
        })`,
      () => {
        const followed = client.members.find((m) => m.isLeader)?.id;
        return followed !== undefined && followed !== leader;
      },
      5_000,
    );
    // The killed node comes back and catches up; then every node holds the same log.
    const seed = cluster.get(follower).gossipAddr;
    await cluster.restart(leader, leader === "n1" ? ["--bootstrap"] : ["--start-join-addrs", seed]);
    for (const member of cluster.live()) {
      const values = await until(`${member.name} catches up`, async () => {
        const values = await valuesOf(member);
        return values.length >= RECORDS + probes.length ? values : null;
      });
      assertEquals(values.slice(0, probes.length), probes);
      values.splice(0, probes.length);
      if (dedupes) {
        assertEquals(values, expected, `${member.name} holds each record once, in order`);
      } else {
        // Without deduplication a retry may append twice: never lose, keep order.
        const once = values.filter((value, i) => value !== values[i - 1]);
        assertEquals(once, expected, `${member.name} lost or reordered records`);
      }
    }
  } finally {
    client.close();
    await cluster.close();
  }
});
