/**
 * `Cluster.removeMember`: the leader removes a failed member for good; it refuses a live one,
 * an unknown name, and anywhere but on the leader (naming the leader).
 */
import type { Agent } from "../../agent/mod.ts";
import { start } from "./_leave_fixtures.ts";
import { assert, assertEquals, eventually } from "../server/_assert.ts";
import { withTempDir } from "../log/_fixtures.ts";

Deno.test("removeMember: refuses live, unknown and non-leader requests; removes a failed member", async () => {
  await withTempDir(async (dir) => {
    const agents: Agent[] = [];
    try {
      const n1 = await start(dir, "n1");
      agents.push(n1);
      await eventually(() => n1.cluster!.status().role === "leader", "n1 leads");
      for (const name of ["n2", "n3"]) {
        agents.push(await start(dir, name, { joinAddrs: [n1.gossipAddr] }));
      }
      const [, n2, n3] = agents as [Agent, Agent, Agent];
      await eventually(
        () => n1.cluster!.status().membership.voters.length === 3,
        "three voters",
        20_000,
      );
      const alive = await n1.cluster!.removeMember("n3");
      assertEquals(alive.removed ? "" : alive.code, "MEMBER_ALIVE");
      const unknown = await n1.cluster!.removeMember("nobody");
      assertEquals(unknown.removed ? "" : unknown.code, "NOT_MEMBER");
      const elsewhere = await n2.cluster!.removeMember("n3");
      assert(!elsewhere.removed && elsewhere.code === "NOT_LEADER", JSON.stringify(elsewhere));
      assertEquals(elsewhere.leader?.id, "n1");

      // n3 fails (Raft and gossip stop without a leave): it stays a voter until removed.
      await n3.cluster!.close();
      let result = await n1.cluster!.removeMember("n3");
      await eventually(
        async () => {
          result = await n1.cluster!.removeMember("n3");
          return result.removed || result.code !== "MEMBER_ALIVE";
        },
        "n3 declared failed and removed",
        20_000,
      );
      assertEquals(result, { removed: true, name: "n3" });
      assertEquals(n1.cluster!.servers().map((server) => server.id).sort(), ["n1", "n2"]);
      await eventually(
        () => n2.cluster!.servers().map((server) => server.id).sort().join() === "n1,n2",
        "n2 sees the change",
      );
    } finally {
      for (const agent of agents.reverse()) await agent.shutdown();
    }
  });
});
