/**
 * The status source: a leader's view of each member's match index and lag (behind the
 * leader's last entry), a follower's nulls, and the cluster view taking lag from the leader's
 * answer while listing an unreachable member with its error.
 */
import type { Cluster } from "../../agent/_cluster.ts";
import {
  clusterView,
  type NodeStatus,
  nodeStatus,
  RecordCounters,
  type StatusSources,
} from "../../agent/_status.ts";
import type { FileLog } from "../../log/mod.ts";
import { assertEquals } from "../server/_assert.ts";

function fakeCluster(role: "leader" | "follower"): Cluster {
  const status = {
    id: "n1",
    term: 4,
    role,
    leader: role === "leader" ? "n1" : "n2",
    commitIndex: 8,
    lastIndex: 10,
    appliedIndex: 7,
    membership: { voters: ["n1", "n2"], learners: ["n3"] },
  };
  return {
    status: () => status,
    hooks: () => ({ leader: () => ({ id: status.leader, rpcAddr: "addr-of-leader" }) }),
    followers: () => role === "leader" ? [{ id: "n2", match: 10 }, { id: "n3", match: 6 }] : [],
    gossipMembers: () => [{ name: "n2", status: "alive" }, { name: "n3", status: "suspect" }],
    servers: () =>
      ["n1", "n2", "n3"].map((id) => ({ id, rpcAddr: `${id}:1`, isLeader: id === status.leader })),
  } as unknown as Cluster;
}

function sources(cluster: Cluster | null): StatusSources {
  const log = {
    stats: () => ({ firstOffset: 2, nextOffset: 9, bytes: 4096, lastIndex: 10 }),
  } as unknown as FileLog;
  const counters = new RecordCounters();
  counters.recordsProduced = 9;
  return {
    name: "n1",
    rpcAddr: () => "n1:1",
    httpAddr: () => "n1:2",
    log,
    cluster,
    counters,
    version: "test",
  };
}

Deno.test("status of a leader: match index and lag behind its last entry per member", () => {
  const status = nodeStatus(sources(fakeCluster("leader")));
  assertEquals([status.role, status.term, status.commitIndex, status.appliedIndex], [
    "leader",
    4,
    8,
    7,
  ]);
  const view = status.members.map((m) => [m.name, m.suffrage, m.matchIndex, m.lag, m.gossip]);
  assertEquals(view, [
    ["n1", "voter", 10, 0, null],
    ["n2", "voter", 10, 0, "alive"],
    ["n3", "learner", 6, 4, "suspect"],
  ]);
  assertEquals(status.log, { firstOffset: 2, nextOffset: 9, bytes: 4096 });
  assertEquals(status.counters, { recordsProduced: 9, recordsConsumed: 0 });
});

Deno.test("status of a follower: no match index or lag (only the leader knows them)", () => {
  const status = nodeStatus(sources(fakeCluster("follower")));
  assertEquals(status.role, "follower");
  assertEquals(status.leader, { name: "n2", rpcAddr: "addr-of-leader" });
  assertEquals(status.members.map((m) => [m.matchIndex, m.lag]), [[null, null], [null, null], [
    null,
    null,
  ]]);
});

Deno.test("status of a node alone: itself, leader, nothing behind", () => {
  const status = nodeStatus(sources(null));
  assertEquals([status.role, status.leader?.name, status.members.length], ["leader", "n1", 1]);
});

Deno.test("cluster view asked of a follower: lag from the leader's answer, unreachable listed", async () => {
  const self = nodeStatus(sources(fakeCluster("follower")));
  const leader: NodeStatus = {
    ...nodeStatus(sources(fakeCluster("leader"))),
    name: "n2",
    role: "leader",
    term: 5,
    members: [
      { ...self.members[0]!, matchIndex: 9, lag: 1 },
      { ...self.members[1]!, matchIndex: 10, lag: 0 },
      { ...self.members[2]!, matchIndex: 3, lag: 7 },
    ],
  };
  const fetcher = {
    fetch(address: string) {
      return address === "n2:1"
        ? Promise.resolve(leader)
        : Promise.reject(new Error("connection refused"));
    },
  };
  const view = await clusterView(self, fetcher);
  assertEquals(view.term, 5);
  assertEquals(view.leader, leader.leader);
  assertEquals(view.nodes.map((n) => [n.name, n.role, n.reachable, n.matchIndex, n.lag]), [
    ["n1", "follower", true, 9, 1],
    ["n2", "leader", true, 10, 0],
    ["n3", "unknown", false, 3, 7],
  ]);
  assertEquals(view.nodes[2]!.error, "Cannot reach n3 at n3:1: connection refused");
  assertEquals("error" in view.nodes[0]!, false);
});
