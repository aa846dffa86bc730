/**
 * Graceful leave while the leader of two voters has a membership change it cannot commit:
 * the follower voter n2 drops its AppendEntries answers (its heartbeat answers pass, so the
 * leader keeps leading) once it holds the change, which adds the joining n3 as a learner.
 * The test releases the gate; until then the change is under way and nothing else commits.
 *
 * Also: the leader of two voters whose own removal does not commit in time (as opposed to being
 * refused): once the follower holds the removal, its AppendEntries answers are dropped, so the
 * leader never learns that it could commit. The test holds the gate through the leave, or
 * releases it once the removal has timed out, so that it commits during the hand-over.
 */
import type { Agent } from "../../agent/mod.ts";
import { MessageType } from "../../raft/mod.ts";
import { assert, assertEquals, eventually } from "../server/_assert.ts";
import type { Logger } from "../../server/mod.ts";
import { withTempDir } from "../log/_fixtures.ts";
import {
  assertHolds,
  frameGate,
  holdsThroughout,
  produce,
  recordingLogger,
  start,
} from "./_leave_fixtures.ts";

/**
 * n1 leads voters n1 and n2; n3's addition as a learner is under way, held by n2's gate.
 * `alsoDrop` drops more of n2's outbound messages (by type).
 */
async function busyTwoVoters(
  dir: string,
  agents: Set<Agent>,
  gate: { hold: boolean },
  options: { logger?: Logger; alsoDrop?: (type: number, n2: Agent) => boolean } = {},
): Promise<{ n1: Agent; n2: Agent; n3: Agent; acked: Map<number, string> }> {
  const n1 = await start(dir, "n1", { logger: options.logger ?? recordingLogger() });
  agents.add(n1);
  await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
  const acked = await produce(n1, ["a"]);
  let n2: Agent | null = null;
  const holdsChange = () => n2?.cluster?.status().membership.learners.includes("n3") === true;
  n2 = await start(dir, "n2", {
    joinAddrs: [n1.gossipAddr],
    dialPeer: frameGate((type) =>
      (type === MessageType.AppendResponse && gate.hold && holdsChange()) ||
      (n2 !== null && options.alsoDrop?.(type, n2) === true)
    ),
  });
  agents.add(n2);
  await eventually(
    () => n1.cluster!.status().membership.voters.join() === "n1,n2",
    "n2 promoted",
    15_000,
  );
  for (const [offset, value] of await produce(n1, ["b"])) acked.set(offset, value);
  const n3 = await start(dir, "n3", { joinAddrs: [n1.gossipAddr] });
  agents.add(n3);
  await eventually(holdsChange, "n2 holds n3's addition", 15_000);
  // Under way: appended on n1 and n2, not committed (n1 never hears that n2 has it).
  const status = n1.cluster!.status();
  assertEquals(status.membership, { voters: ["n1", "n2"], learners: ["n3"] });
  assert(status.commitIndex < status.lastIndex, JSON.stringify(status));
  return { n1, n2, n3, acked };
}

Deno.test("leave: a leaving voter follower keeps running until its busy leader has removed it", async () => {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const gate = { hold: true };
    try {
      const { n1, n2, acked } = await busyTwoVoters(dir, agents, gate);
      let stopped = false;
      const stopping = n2.shutdown().then(() => stopped = true);
      // n1 learns that n2 left; busy with n3's addition, it does not remove n2 yet.
      await eventually(
        () => n1.cluster!.gossipMembers().find((m) => m.name === "n2")?.status === "left",
        "n1 sees n2 leave",
      );
      // Stopped now, n2 would take the quorum of n1's configuration with it: n1 would step
      // down (check-quorum) and never be elected again. It keeps answering instead.
      await holdsThroughout(
        () => !n2.service.context.closing && n1.cluster!.status().role === "leader",
        "n2 still leaving and n1 leading",
        1500,
      );
      assert(n1.cluster!.status().membership.voters.includes("n2"));

      // The change commits; n1 removes n2, which then stops.
      gate.hold = false;
      await eventually(() => stopped, "n2 stops once removed", 10_000);
      await stopping;
      agents.delete(n2);
      assertEquals(n1.cluster!.status().role, "leader");
      assert(!n1.cluster!.status().membership.voters.includes("n2"));
      assert(!n1.cluster!.status().membership.learners.includes("n2"));
      for (const [offset, value] of await produce(n1, ["c"])) acked.set(offset, value);
      await n1.cluster!.commitLog.readBarrier();
      assertHolds(n1, acked);
    } finally {
      gate.hold = false;
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
});

Deno.test("leave: a leader whose own removal is refused hands leadership over and leaves as a follower", async () => {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const gate = { hold: true };
    const logger = recordingLogger();
    try {
      const { n1, n2, n3, acked } = await busyTwoVoters(dir, agents, gate, { logger });
      let stopped = false;
      const stopping = n1.shutdown().then(() => stopped = true);
      // leave() waits a while for the change, then tries to remove n1: refused, one change
      // at a time. Only then may the change commit.
      await eventually(
        () => logger.lines.some((line) => line.includes("could not remove this node")),
        "n1's own removal refused",
      );
      assert(
        logger.lines.some((line) =>
          line.includes("could not remove") &&
          line.includes("membership change or the term's first entry is not committed")
        ),
        logger.lines.join("\n"),
      );
      gate.hold = false;
      await eventually(() => stopped, "n1 stops", 10_000);
      await stopping;
      agents.delete(n1);

      // Another voter leads without n1 (stopping as the leader of two voters, n1 would have
      // left n2 unable to win an election), takes writes, and holds everything acknowledged.
      const leader = () => [n2, n3].find((agent) => agent.cluster!.status().role === "leader");
      await eventually(() => {
        const membership = leader()?.cluster?.status().membership;
        return membership !== undefined && !membership.voters.includes("n1") &&
          !membership.learners.includes("n1");
      }, "a leader without n1");
      // It got there by a hand-over, not by an election after n1 stopped.
      assert(
        logger.lines.some((line) => line.includes("handed leadership over")),
        logger.lines.join("\n"),
      );
      const now = leader()!;
      for (const [offset, value] of await produce(now, ["c"])) acked.set(offset, value);
      await now.cluster!.commitLog.readBarrier();
      assertHolds(now, acked);
    } finally {
      gate.hold = false;
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
});

Deno.test("leave: a leader that handed over waits to hear from the new leader before it leaves as a follower", async () => {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    // Once n2 leads, its appends and heartbeats are dropped too: n1, which voted for it,
    // knows no leader until the test lets them through.
    const gate = { hold: true, hideLeader: true };
    const logger = recordingLogger();
    try {
      const { n1, n2, acked } = await busyTwoVoters(dir, agents, gate, {
        logger,
        alsoDrop: (type, n2) =>
          gate.hideLeader && n2.cluster?.status().role === "leader" &&
          (type === MessageType.Append || type === MessageType.Heartbeat),
      });
      let stopped = false;
      const stopping = n1.shutdown().then(() => stopped = true);
      await eventually(
        () => logger.lines.some((line) => line.includes("could not remove this node")),
        "n1's own removal refused",
      );
      gate.hold = false;
      await eventually(
        () => n2.cluster!.status().role === "leader" && n1.cluster!.status().role !== "leader",
        "n2 wins the election n1 handed it",
      );
      // Leaving now, without a leader to wait for, n1 would stop before n2 removed it: n2
      // could not commit its first entry (n2 of voters n1 and n2) and would step down.
      // The window stays below n2's check-quorum round (n1 cannot answer what it never gets).
      await holdsThroughout(
        () => !n1.service.context.closing && n1.cluster!.status().leader === null,
        "n1 still leaving, no leader known",
        300,
      );
      gate.hideLeader = false;
      await eventually(() => stopped, "n1 stops once removed", 10_000);
      await stopping;
      agents.delete(n1);
      assert(
        !logger.lines.some((line) => line.includes("left before the leader removed")),
        logger.lines.join("\n"),
      );
      await eventually(() => {
        const status = n2.cluster!.status();
        return status.role === "leader" && !status.membership.voters.includes("n1") &&
          !status.membership.learners.includes("n1");
      }, "n2 leads without n1");
      for (const [offset, value] of await produce(n2, ["c"])) acked.set(offset, value);
      await n2.cluster!.commitLog.readBarrier();
      assertHolds(n2, acked);
    } finally {
      gate.hold = false;
      gate.hideLeader = false;
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
});

async function removalTimesOut(release: boolean): Promise<void> {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const logger = recordingLogger();
    const gate = { hold: true };
    try {
      const n1 = await start(dir, "n1", { logger });
      agents.add(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
      const acked = await produce(n1, ["a"]);
      let follower: Agent | null = null;
      const holdsRemoval = () => {
        const voters = follower?.cluster?.status().membership.voters;
        return voters !== undefined && voters.includes("n2") && !voters.includes("n1");
      };
      const n2 = await start(dir, "n2", {
        joinAddrs: [n1.gossipAddr],
        dialPeer: frameGate((type) =>
          type === MessageType.AppendResponse && gate.hold && holdsRemoval()
        ),
      });
      follower = n2;
      agents.add(n2);
      await eventually(
        () => n1.cluster!.status().membership.voters.join() === "n1,n2",
        "n2 promoted",
      );
      for (const [offset, value] of await produce(n1, ["b"])) acked.set(offset, value);

      let stopped = false;
      const stopping = n1.shutdown().then(() => stopped = true);
      await eventually(
        () =>
          logger.lines.some((line) =>
            line.includes("could not remove this node") && line.includes("not done within")
          ),
        "n1's own removal times out",
      );
      if (release) gate.hold = false;
      await eventually(() => stopped, "n1 stops", 10_000);
      await stopping;
      agents.delete(n1);
      gate.hold = false;
      const log = logger.lines.join("\n");
      if (release) {
        // The removal committed during the hand-over: n1 stops at once, without waiting for
        // a leader that, having removed it, never replicates to it.
        assert(log.includes("removal committed late"), log);
        assert(!log.includes("could not hand leadership over"), log);
      }

      // n2 holds the removal: it leads alone, takes writes, and holds everything acknowledged.
      await eventually(
        () => {
          const status = n2.cluster!.status();
          return status.role === "leader" && !status.membership.voters.includes("n1") &&
            !status.membership.learners.includes("n1");
        },
        "n2 leads without n1",
        5_000,
      );
      for (const [offset, value] of await produce(n2, ["c"])) acked.set(offset, value);
      await n2.cluster!.commitLog.readBarrier();
      assertHolds(n2, acked);
    } finally {
      gate.hold = false;
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
}

Deno.test("leave: a leader whose own removal never commits in time stops, and the follower holding it leads alone", async () => {
  await removalTimesOut(false);
});

Deno.test("leave: a leader whose own removal commits after it timed out stops without waiting for a leader", async () => {
  await removalTimesOut(true);
});
