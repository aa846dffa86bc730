/**
 * Retention in a cluster, with real processes and files: members remove what their limits let
 * go (never past what they applied), and a member behind the leader's first record — a late
 * joiner, or a follower stopped while the leader compacted past its end — catches up through
 * the snapshot path: its log restarts at the leader's first offset, offsets unchanged.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { assert, assertEquals, encoder } from "../server/_assert.ts";
import { type Member, TestCluster, until } from "./_cluster.ts";
import { assertRetained } from "./_cluster_io.ts";

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

/** The lowest first offset among `members` (a snapshot comes from one of them). */
async function lowestFirst(members: Member[]): Promise<number> {
  return Math.min(...await Promise.all(members.map(firstOffset)));
}

/**
 * Waits until `member` (no retention of its own) holds offset `last`, then checks it was
 * restarted by a snapshot: its start is at least `lowestBefore` (the lowest start among the
 * members it could copy from, before it came back) and at most the highest start now.
 */
async function restartedAt(member: Member, last: number, lowestBefore: number, others: Member[]) {
  await until(`${member.name} holding offset ${last}`, () => member.client.consume(last));
  const mine = await firstOffset(member);
  const highestNow = Math.max(...await Promise.all(others.map(firstOffset)));
  assert(
    mine >= lowestBefore && mine <= highestNow,
    `${member.name} starts at ${mine}; the others started from ${lowestBefore}, now up to ${highestNow}`,
  );
  return mine;
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
      // Retention under Raft says what the applied index holds back (a count, 0 when nothing).
      const metrics = await (await fetch(`${member.node.httpUrl}/metrics`)).text();
      assert(/^strand_retention_held_back_entries(?:\{[^}]*\})? \d+$/m.test(metrics), member.name);
    }

    // Restarted without retention, it is restarted at the first record of the node that sent
    // the snapshot (which may compact further afterwards; the restarted node keeps its start).
    const others = cluster.live();
    const lowestBefore = await lowestFirst(others);
    const seed = leader.gossipAddr;
    const back = await cluster.restart(stoppable, ["--start-join-addrs", seed]);
    await cluster.waitForVoters(["n1", "n2", "n3"]);
    const start = await restartedAt(back, end - 1, lowestBefore, others);
    // A late joiner (no retention of its own) starts past 0 the same way: nothing below the
    // others' first records exists anywhere it could copy from.
    const senders = cluster.live();
    const lowestLater = await lowestFirst(senders);
    const late = await cluster.startMember("n4", ["--start-join-addrs", seed]);
    await cluster.waitForVoters(["n1", "n2", "n3", "n4"]);
    await restartedAt(late, end - 1, lowestLater, senders);

    acked.set(await leader.client.produce(encoder.encode("after")), "after");
    for (const member of cluster.live()) {
      // Every retained offset holds the same record on every node.
      const first = await assertRetained(member, end, acked);
      assert(first >= start, `${member.name} starts at ${first}, before ${start}`);
      // Below the start: a clear OUT_OF_RANGE naming what the node holds (its start may have
      // moved on since; never back).
      const below = await consumeFailure(member, first - 1);
      assertEquals(below?.code, GrpcStatus.OUT_OF_RANGE, member.name);
      const named = Number(/holds offsets (\d+) to/.exec(below!.message)?.[1]);
      assert(named >= first, below!.message);
    }
  } finally {
    await cluster.close();
  }
});
