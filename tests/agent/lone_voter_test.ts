/**
 * The only voter stopping gracefully with no learner caught up: nothing could remove it (Raft
 * keeps one voter) and a learner behind it may not take over (promoted, it could commit
 * nothing), so it stays in the configuration, says so once, announces no leave, and the
 * cluster resumes when it restarts. (With a caught-up learner it hands over: leave_test.ts.)
 */
import type { Agent } from "../../agent/mod.ts";
import { peerDialer } from "../../server/mod.ts";
import { recordingLogger, start } from "./_leave_fixtures.ts";
import { assert, assertEquals, eventually } from "../server/_assert.ts";
import { withTempDir } from "../log/_fixtures.ts";

/** A dialer that reaches no peer: a learner added by this leader never catches up. */
const unreachable = (address: string) =>
  Promise.reject(new Error(`${address} is unreachable in this test`));

Deno.test("leave: the only voter stays in the configuration, hands nothing to a learner behind it, and resumes on restart", async () => {
  await withTempDir(async (dir) => {
    const agents = new Set<Agent>();
    const logger = recordingLogger();
    try {
      let n1 = await start(dir, "n1", { logger, dialPeer: unreachable });
      agents.add(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
      const gossipPort = Number(n1.gossipAddr.split(":").pop());
      const n2 = await start(dir, "n2", { joinAddrs: [n1.gossipAddr] });
      agents.add(n2);
      await eventually(
        () => n1.cluster!.status().membership.learners.includes("n2"),
        "n2 added as a learner",
      );
      await n1.shutdown();
      agents.delete(n1);
      const said = logger.lines.filter((line) => line.includes("only voter"));
      assertEquals(said.length, 1, logger.lines.join("\n"));
      assert(!logger.lines.some((line) => line.includes("handed leadership")), "no hand-over");
      // The learner behind it was not promoted: n1 alone still makes the quorum.
      assertEquals(n1.cluster!.status().membership, { voters: ["n1"], learners: ["n2"] });
      // Stopped without a leave: the learner sees it down, not gone for good.
      await eventually(() => {
        const seen = n2.cluster!.gossipMembers().find((member) => member.name === "n1");
        return seen !== undefined && seen.status !== "alive";
      }, "n2 notices n1 stopped");
      const seen = n2.cluster!.gossipMembers().find((member) => member.name === "n1");
      assert(seen?.status !== "left", `n2 sees n1 ${seen?.status}`);
      assertEquals(n2.cluster!.status().role, "follower", "a learner never campaigns");

      // Restarted (on its address, reaching its peers now), it leads the same configuration
      // and the learner catches up and is promoted.
      n1 = await start(dir, "n1", { gossipPort, dialPeer: peerDialer() });
      agents.add(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads again");
      await eventually(
        () => n1.cluster!.status().membership.voters.join() === "n1,n2",
        "n2 promoted once it caught up",
        15_000,
      );
    } finally {
      for (const agent of [...agents].reverse()) await agent.shutdown();
    }
  });
});
