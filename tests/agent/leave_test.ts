/**
 * Graceful leave of the only voter with a learner behind it, and leave's wait for a
 * membership change under way. The learner's outbound Raft traffic goes through a gate the
 * test controls (writes dropped while closed: the leader sees no acknowledgement), so what the
 * leaving node sees when it decides is fixed by the test, not by timing.
 *
 * Also: graceful leave of a voter that knows no leader (an election under way), in a cluster of
 * two voters. Both nodes' outbound Raft traffic goes through gates: cut, the two lose each
 * other (the leader steps down by check-quorum, the other campaigns); steered, one node's vote
 * requests are dropped, so the test decides who wins the election once it heals.
 */
import type { Agent } from "../../agent/mod.ts";
import { MessageType } from "../../raft/mod.ts";
import { assert, assertEquals, eventually } from "../server/_assert.ts";
import { withTempDir } from "../log/_fixtures.ts";
import {
  assertHolds,
  frameGate,
  gatedDialer,
  holdsThroughout,
  produce,
  recordingLogger,
  start,
} from "./_leave_fixtures.ts";

Deno.test("leave: the only voter promotes a caught-up learner, removes itself, and the learner leads alone", async () => {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const logger = recordingLogger();
    let cut = true;
    try {
      const n1 = await start(dir, "n1", { logger });
      agents.add(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
      const acked = await produce(n1, ["a", "b"]);
      // n2's acknowledgements are cut: it is a learner the leader never sees caught up, so
      // reconciliation does not promote it; only leave() can.
      const n2 = await start(dir, "n2", {
        joinAddrs: [n1.gossipAddr],
        dialPeer: gatedDialer(() => cut),
      });
      agents.add(n2);
      await eventually(
        () => n1.cluster!.status().membership.learners.includes("n2"),
        "n2 added as a learner",
      );
      for (const [offset, value] of await produce(n1, ["c"])) acked.set(offset, value);
      assertEquals(n1.cluster!.status().membership.voters, ["n1"]);

      // leave() starts (reconciliation stops at once), then n2 catches up.
      const stopping = n1.shutdown();
      cut = false;
      await stopping;
      agents.delete(n1);
      assert(
        logger.lines.some((line) => line.includes("promoted a learner to take over")),
        logger.lines.join("\n"),
      );
      assert(logger.lines.some((line) => line.includes("removed this node from the config")));
      assert(!logger.lines.some((line) => line.includes("only voter")), logger.lines.join("\n"));

      await eventually(() => n2.cluster!.status().role === "leader", "n2 leads");
      assertEquals(n2.cluster!.status().membership, { voters: ["n2"], learners: [] });
      for (const [offset, value] of await produce(n2, ["d"])) acked.set(offset, value);
      await n2.cluster!.commitLog.readBarrier();
      assertHolds(n2, acked);
    } finally {
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
});

Deno.test("leave: a change under way commits before the leaving leader decides, and it removes itself", async () => {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const logger = recordingLogger();
    let hold = true;
    try {
      const n1 = await start(dir, "n1", { logger });
      agents.add(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
      const acked = await produce(n1, ["a"]);
      // Once n2 holds its own promotion, its acknowledgements are cut: the promotion stays
      // under way (appended, not committed) until the test lets it through.
      let n2: Agent | null = null;
      const promoted = () => n2?.cluster?.status().membership.voters.includes("n2") === true;
      n2 = await start(dir, "n2", {
        joinAddrs: [n1.gossipAddr],
        dialPeer: gatedDialer(() => hold && promoted()),
      });
      agents.add(n2);
      await eventually(
        () => n1.cluster!.status().membership.voters.includes("n2"),
        "n1 proposes n2's promotion",
        15_000,
      );

      // leave() starts while the promotion is not committed; then it may commit.
      const stopping = n1.shutdown();
      hold = false;
      await stopping;
      agents.delete(n1);
      // Deciding before the promotion committed, n1's own removal would be refused (one
      // change at a time) and it would fall back to a plain hand-over.
      assert(
        logger.lines.some((line) => line.includes("removed this node from the config")),
        logger.lines.join("\n"),
      );
      assert(!logger.lines.some((line) => line.includes("could not")), logger.lines.join("\n"));
      await eventually(() => n2!.cluster!.status().role === "leader", "n2 leads");
      assertEquals(n2.cluster!.status().membership, { voters: ["n2"], learners: [] });
      for (const [offset, value] of await produce(n2, ["b"])) acked.set(offset, value);
      await n2.cluster!.commitLog.readBarrier();
      assertHolds(n2, acked);
    } finally {
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
});

Deno.test("leave: with two voters, a leaving follower waits until removed and a leaving leader removes itself", async () => {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const logger = recordingLogger();
    try {
      const n1 = await start(dir, "n1", { logger });
      agents.add(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
      const acked = await produce(n1, ["a"]);
      const join = async (name: string) => {
        const agent = await start(dir, name, { joinAddrs: [n1.gossipAddr] });
        agents.add(agent);
        await eventually(
          () => n1.cluster!.status().membership.voters.join() === `n1,${name}`,
          `${name} promoted`,
          15_000,
        );
        return agent;
      };

      // The follower stays until the leader removed it: stopping earlier, the leader of two
      // voters would lose its quorum (check-quorum) before it could remove it.
      const n2 = await join("n2");
      await n2.shutdown();
      agents.delete(n2);
      assertEquals(n1.cluster!.status().membership.voters, ["n1"]);
      assertEquals(n1.cluster!.status().role, "leader");
      for (const [offset, value] of await produce(n1, ["b"])) acked.set(offset, value);

      // The leader removes itself: once that commits, the other voter is a quorum alone.
      const n3 = await join("n3");
      await n1.shutdown();
      agents.delete(n1);
      assert(
        logger.lines.some((line) => line.includes("removed this node from the config")),
        logger.lines.join("\n"),
      );
      assertEquals(n3.cluster!.status().membership, { voters: ["n3"], learners: [] });
      await eventually(() => n3.cluster!.status().role === "leader", "n3 leads");
      for (const [offset, value] of await produce(n3, ["c"])) acked.set(offset, value);
      await n3.cluster!.commitLog.readBarrier();
      assertHolds(n3, acked);
    } finally {
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
});

const votes = new Set<number>([MessageType.PreVote, MessageType.Vote]);

async function leaveDuringElection(winner: "leaver" | "survivor"): Promise<void> {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const logger = recordingLogger();
    // The node whose vote requests are dropped once the cut heals.
    // While the leaver leads, n1's append answers wait: its term's first entry stays
    // uncommitted, and before that it could not propose its own removal.
    const gate = { cut: false, loser: winner === "leaver" ? "n1" : "n2", holdFirst: false };
    let leaver: Agent | null = null;
    const leaverLeads = () => leaver?.cluster?.status().role === "leader";
    const dialer = (name: string) =>
      frameGate((type) =>
        gate.cut || (gate.loser === name && votes.has(type)) ||
        (name === "n1" && gate.holdFirst && type === MessageType.AppendResponse && leaverLeads())
      );
    try {
      const n1 = await start(dir, "n1", { dialPeer: dialer("n1") });
      agents.add(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
      const acked = await produce(n1, ["a"]);
      const n2 = await start(dir, "n2", {
        joinAddrs: [n1.gossipAddr],
        logger,
        dialPeer: dialer("n2"),
      });
      leaver = n2;
      agents.add(n2);
      await eventually(
        () => n1.cluster!.status().membership.voters.join() === "n1,n2",
        "n2 promoted",
      );
      for (const [offset, value] of await produce(n1, ["b"])) acked.set(offset, value);
      await eventually(() => n2.cluster!.status().leader === "n1", "n2 follows n1");

      // Cut: n1 steps down (check-quorum), n2 campaigns; neither knows a leader.
      gate.cut = true;
      await eventually(
        () => n1.cluster!.status().role !== "leader" && n2.cluster!.status().leader === null,
        "an election under way",
      );
      let stopped = false;
      const stopping = n2.shutdown().then(() => stopped = true);
      // n2 decides while no leader is known; then the election may end.
      await eventually(
        () => stopped || logger.lines.some((line) => line.includes("no leader is known")),
        "n2 decides how to leave",
      );
      gate.holdFirst = winner === "leaver";
      gate.cut = false;
      if (winner === "leaver") {
        await eventually(leaverLeads, "n2 wins the election");
        // Proposing its removal now, n2 would be refused and hand over instead.
        await holdsThroughout(
          () => !stopped && !logger.lines.some((line) => line.includes("could not")),
          "n2 waiting for its term's first entry",
          300,
        );
        gate.holdFirst = false;
      }
      await eventually(() => stopped, "n2 stops", 10_000);
      await stopping;
      agents.delete(n2);

      // Stopping at once, n2 would have left n1 a voter of two that can never win an
      // election without it. n1 leads alone instead, takes writes, and holds everything.
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads", 5_000);
      assertEquals(n1.cluster!.status().membership, { voters: ["n1"], learners: [] });
      const removed = logger.lines.some((line) => line.includes("removed this node from the"));
      assertEquals(removed, winner === "leaver", logger.lines.join("\n"));
      assert(
        !logger.lines.some((line) => line.includes("could not") || line.includes("left before")),
        logger.lines.join("\n"),
      );
      for (const [offset, value] of await produce(n1, ["c"])) acked.set(offset, value);
      await n1.cluster!.commitLog.readBarrier();
      assertHolds(n1, acked);
    } finally {
      gate.cut = false;
      gate.holdFirst = false;
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
}

Deno.test("leave: a voter leaving mid-election that wins removes itself, and the survivor leads alone", async () => {
  await leaveDuringElection("leaver");
});

Deno.test("leave: a voter leaving mid-election that loses waits to be removed, and the survivor leads alone", async () => {
  await leaveDuringElection("survivor");
});
