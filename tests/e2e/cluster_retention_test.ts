/**
 * Retention in a cluster, with real processes and files: members remove what their limits let
 * go (never past what they applied), and a member behind the leader's first record — a late
 * joiner, or a follower stopped while the leader compacted past its end — catches up through
 * the snapshot path: its log restarts at the leader's first offset, offsets unchanged.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { assert, assertEquals, decoder, encoder } from "../server/_assert.ts";
import { type Member, TestCluster, until } from "./_cluster.ts";

/** Small segments: a few entries each, so retention has whole segments to remove. */
const SEGMENTS = ["--segment-bytes-max", "1024"];
const RETENTION = ["--retention-bytes", "2048"];

/** The member's first retained offset, from its metrics. */
async function firstOffset(member: Member): Promise<number> {
  const response = await fetch(`${member.node.httpUrl}/metrics`);
  const text = await response.text();
  const match = /^strand_log_first_offset(?:\{[^}]*\})? (\d+)$/m.exec(text);
  if (match === null) throw new Error(`no strand_log_first_offset in:\n${text}`);
  return Number(match[1]);
}

/** The gRPC code and message `consume(offset)` fails with on `member` (null: it succeeded). */
async function consumeFailure(member: Member, offset: number) {
  return await member.client.consume(offset).then(
    () => null,
    (error) => ({ code: (error as { code: number }).code, message: String(error) }),
  );
}

/** Waits until `member`'s first offset equals the leader's (both stable once writes stop). */
async function sameStart(member: Member, leader: Member): Promise<number> {
  return await until(`${member.name} starting where ${leader.name} starts`, async () => {
    const [mine, theirs] = [await firstOffset(member), await firstOffset(leader)];
    return mine === theirs && mine > 0 ? mine : null;
  });
}

Deno.test("cluster retention: a restarted follower and a late joiner catch up from the leader's first record", async () => {
  const cluster = await TestCluster.start(["n1", "n2", "n3"], {
    extraArgs: SEGMENTS,
    memberArgs: { n1: RETENTION, n2: RETENTION },
  });
  try {
    const leaderName = (await cluster.leader())!;
    const leader = cluster.get(leaderName);
    const stoppable = ["n1", "n2", "n3"].find((name) => name !== leaderName && name !== "n2")!;
    const acked = new Map<number, string>();
    for (let i = 0; i < 10; i++) {
      acked.set(await leader.client.produce(encoder.encode(`a${i}`)), `a${i}`);
    }
    // The follower stops; the others write far past retention and compact past its end.
    await cluster.stop(stoppable, "SIGKILL");
    for (let batch = 0; batch < 40; batch++) {
      const values = [0, 1, 2, 3, 4].map((i) => `b${batch}-${i}`.padEnd(100, "."));
      const { offset } = await leader.client.produceBatch(values.map((v) => encoder.encode(v)));
      values.forEach((value, i) => acked.set(offset + i, value));
    }
    const end = acked.size;
    for (const member of cluster.live()) {
      const first = await until(
        `${member.name} compacting past the stopped follower's end`,
        async () => {
          const first = await firstOffset(member);
          return first > 10 ? first : null;
        },
      );
      assert(first < end, `${member.name} retains from ${first} of ${end}`);
    }

    // Restarted without retention, it is restarted at the leader's first record.
    const seed = leader.gossipAddr;
    const back = await cluster.restart(stoppable, ["--start-join-addrs", seed]);
    await cluster.waitForVoters(["n1", "n2", "n3"]);
    const start = await sameStart(back, leader);
    // A late joiner (no retention of its own) also starts there.
    const late = await cluster.startMember("n4", ["--start-join-addrs", seed]);
    await cluster.waitForVoters(["n1", "n2", "n3", "n4"]);
    assertEquals(await sameStart(late, leader), start);

    acked.set(await leader.client.produce(encoder.encode("after")), "after");
    for (const member of cluster.live()) {
      const first = await firstOffset(member);
      assert(first >= start, `${member.name} starts at ${first}, before the leader's ${start}`);
      // Every retained offset holds the same record on every node.
      for (let offset = first; offset <= end; offset++) {
        const record = await member.client.consume(offset);
        assertEquals(decoder.decode(record.value), acked.get(offset), `${member.name} @${offset}`);
      }
      // Below the start: a clear OUT_OF_RANGE naming what the node holds.
      const below = await consumeFailure(member, first - 1);
      assertEquals(below?.code, GrpcStatus.OUT_OF_RANGE, member.name);
      assert(below!.message.includes(`holds offsets ${first} to`), below!.message);
    }
  } finally {
    await cluster.close();
  }
});
