/**
 * Graceful leave of a voter that knows no leader (an election under way), in a cluster of two
 * voters. Both nodes' outbound Raft traffic goes through gates the test controls: cut, the two
 * lose each other (the leader steps down by check-quorum, the other campaigns); steered, one
 * node's vote requests are dropped, so the test decides who wins the election once it heals.
 */
import type { Agent } from "../../agent/mod.ts";
import { MessageType } from "../../raft/mod.ts";
import { assert, assertEquals, eventually } from "../server/_assert.ts";
import { withTempDir } from "../log/_fixtures.ts";
import {
  assertHolds,
  frameGate,
  holdsThroughout,
  produce,
  recordingLogger,
  start,
} from "./_leave_fixtures.ts";

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
