/**
 * The book's three-node cluster as real processes started as `deno task start` does: one
 * leader, replication, reads from any node, failover, restarts and graceful leave.
 */
import { Metadata, status as GrpcStatus } from "@grpc/grpc-js";
import { assert, assertEquals, decoder, encoder } from "../server/_assert.ts";
import { type Member, TestCluster, until } from "./_cluster.ts";

const NAMES = ["n1", "n2", "n3"];

/** Produces `value` through `member`, retrying while the cluster has no leader (bounded). */
async function produceAcked(member: Member, value: string, timeoutMs = 10_000): Promise<number> {
  return await until(
    `produce ${value}`,
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
async function assertHolds(member: Member, acked: Map<number, string>): Promise<void> {
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

function leaderChanges(member: Member): number {
  return member.node.output().split("\n").filter((line) => line.includes("leader changed")).length;
}

Deno.test("cluster: three nodes with the book's flags agree on one leader and replicate", async () => {
  const cluster = await TestCluster.start(NAMES);
  try {
    const leader = (await cluster.leader())!;
    const [f1, f2] = cluster.live().filter((member) => member.name !== leader) as [Member, Member];
    const servers = await f1.client.getServers();
    assertEquals(servers.map((server) => server.id).sort(), NAMES);
    assertEquals(servers.filter((server) => server.isLeader).map((server) => server.id), [leader]);
    for (const server of servers) assertEquals(server.rpcAddr, cluster.get(server.id).node.rpcAddr);

    const acked = new Map<number, string>();
    for (let i = 0; i < 10; i++) {
      acked.set(await f1.client.produce(encoder.encode(`g${i}`)), `g${i}`);
    }
    const batch = await cluster.get(leader).client.produceBatch([
      encoder.encode("b0"),
      encoder.encode("b1"),
    ]);
    acked.set(batch.offset, "b0").set(batch.offset + 1, "b1");
    const http = await fetch(`${f2.node.httpUrl}/v1/records`, {
      method: "POST",
      body: JSON.stringify({ value: btoa("h0") }),
    });
    assertEquals(http.status, 200);
    acked.set((await http.json()).offset, "h0");
    // Offsets are dense from 0 whichever node took the write.
    assertEquals([...acked.keys()].sort((a, b) => a - b), [...acked.keys()].map((_, i) => i));
    // A record acknowledged anywhere is readable everywhere at once (read barrier on followers).
    for (const member of cluster.live()) {
      const last = await member.client.consume(acked.size - 1);
      assertEquals(decoder.decode(last.value), "h0", member.name);
      await assertHolds(member, acked);
    }
    const byPath = await fetch(`${f1.node.httpUrl}/v1/records/${batch.offset}`);
    assertEquals(
      decoder.decode(Uint8Array.from(atob((await byPath.json()).value), (c) => c.charCodeAt(0))),
      "b0",
    );
    // Past the end is OUT_OF_RANGE on a follower too, once confirmed with the leader.
    const past = await f2.client.consume(acked.size).then(() => null, (error) => error.code);
    assertEquals(past, GrpcStatus.OUT_OF_RANGE);

    // Ready with a leader; Raft metrics name the role and the followers' lag on the leader.
    for (const member of cluster.live()) {
      const ready = await fetch(`${member.node.httpUrl}/readyz`);
      assertEquals(ready.status, 200, member.name);
      await ready.body?.cancel();
      const metrics = await (await fetch(`${member.node.httpUrl}/metrics`)).text();
      const role = member.name === leader ? "leader" : "follower";
      assert(new RegExp(`strand_raft_role\\{[^}]*role="${role}"[^}]*\\} 1`).test(metrics), metrics);
      assert(/strand_raft_members\{[^}]*kind="voter"[^}]*\} 3/.test(metrics), metrics);
      if (member.name === leader) assert(metrics.includes("strand_raft_follower_lag_entries"));
    }

    // Idle: no election cycle (no leader change on any node over many election timeouts).
    const before = cluster.live().map(leaderChanges);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assertEquals(cluster.live().map(leaderChanges), before, "leader changes while idle");
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: SIGKILL of the leader elects another, loses nothing acknowledged; it rejoins and catches up", async () => {
  const cluster = await TestCluster.start(NAMES);
  try {
    const leader = (await cluster.leader())!;
    const survivors = cluster.live().filter((member) => member.name !== leader);
    const acked = new Map<number, string>();
    for (let i = 0; i < 20; i++) {
      const via = survivors[i % 2]!;
      acked.set(await via.client.produce(encoder.encode(`k${i}`)), `k${i}`);
    }
    await cluster.stop(leader, "SIGKILL");
    // Writes continue through a survivor once a new leader is elected.
    for (let i = 20; i < 30; i++) {
      acked.set(await produceAcked(survivors[i % 2]!, `k${i}`), `k${i}`);
    }
    const newLeader = await until("a new leader", () => cluster.leader());
    assert(newLeader !== leader, "the killed node is still reported as leader");
    // The new leader's transport drops what it sends to the dead node and reports it to Raft.
    const next = survivors.find((member) => member.name === newLeader)!;
    await until("unreachable reports on the new leader", async () => {
      const metrics = await (await fetch(`${next.node.httpUrl}/metrics`)).text();
      const reports = /strand_raft_node_events\{event="unreachable_reports"[^}]*\} (\d+)/.exec(
        metrics,
      );
      return Number(reports?.[1] ?? 0) > 0 ? true : null;
    });
    for (const member of survivors) await assertHolds(member, acked);
    // The old leader restarts with its own flags and catches up (it was never removed).
    const seed = survivors[0]!.gossipAddr;
    const args = leader === "n1" ? ["--bootstrap"] : ["--start-join-addrs", seed];
    const back = await cluster.restart(leader, args);
    await assertHolds(back, acked);
    await cluster.waitForVoters(NAMES);
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: whole-cluster restart keeps every acknowledged record; no quorum is UNAVAILABLE", async () => {
  const cluster = await TestCluster.start(NAMES);
  try {
    const acked = new Map<number, string>();
    const n2 = cluster.get("n2");
    for (let i = 0; i < 15; i++) {
      acked.set(await n2.client.produce(encoder.encode(`w${i}`)), `w${i}`);
    }
    for (const name of NAMES) await cluster.stop(name, "SIGKILL");
    // The book's commands again: n1 keeps --bootstrap (a no-op on its state), the others join.
    await cluster.restart("n1", ["--bootstrap"]);
    const seed = cluster.get("n1").gossipAddr;
    await Promise.all(
      ["n2", "n3"].map((name) => cluster.restart(name, ["--start-join-addrs", seed])),
    );
    await until("a leader after restart", () => cluster.leader());
    for (const member of cluster.live()) await assertHolds(member, acked);
    acked.set(await produceAcked(cluster.get("n3"), "after"), "after");
    await assertHolds(cluster.get("n1"), acked);

    // With two of three gone, the survivor cannot commit: UNAVAILABLE, never a false ack.
    await cluster.stop("n2", "SIGKILL");
    await cluster.stop("n3", "SIGKILL");
    const n1 = cluster.get("n1");
    // Check-quorum: a leader that hears from no quorum steps down within election timeouts.
    await until("n1 without a leader", async () => {
      const servers = await n1.client.getServers();
      return servers.every((server) => !server.isLeader);
    });
    const failure = await n1.client.produce(encoder.encode("lost")).then(
      () => null,
      (error) => error as { code: number; metadata: Metadata },
    );
    assert(failure !== null, "a write without a quorum was acknowledged");
    assertEquals(failure.code, GrpcStatus.UNAVAILABLE);
    const http = await fetch(`${n1.node.httpUrl}/v1/records`, {
      method: "POST",
      body: JSON.stringify({ value: btoa("lost") }),
    });
    assertEquals(http.status, 503);
    assertEquals(http.headers.get("retry-after"), "1");
    await http.body?.cancel();
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: graceful leave removes the member; a leaving leader hands over first", async () => {
  const cluster = await TestCluster.start(NAMES);
  try {
    const leader = (await cluster.leader())!;
    const [follower, other] = NAMES.filter((name) => name !== leader) as [string, string];
    assertEquals(await cluster.stop(follower, "SIGTERM"), 0);
    const remaining = [leader, other].sort();
    await until("the leaver removed", async () => {
      const servers = await cluster.get(other).client.getServers();
      return JSON.stringify(servers.map((server) => server.id).sort()) ===
        JSON.stringify(remaining);
    });
    const acked = new Map<number, string>();
    acked.set(await produceAcked(cluster.get(other), "x"), "x");
    // The leader leaves: it hands leadership to the other voter, which carries on alone.
    assertEquals(await cluster.stop(leader, "SIGTERM"), 0);
    await until("the last member leads alone", async () => {
      const servers = await cluster.get(other).client.getServers();
      return servers.length === 1 && servers[0]!.isLeader;
    });
    acked.set(await produceAcked(cluster.get(other), "y"), "y");
    await assertHolds(cluster.get(other), acked);
    // The only voter stops too: it stays in the configuration (nothing could remove it) and
    // says so; restarted on its data dir, it leads again with everything acknowledged.
    const last = cluster.get(other).node;
    assertEquals(await cluster.stop(other, "SIGTERM"), 0);
    assert(last.output().includes("this node is the only voter"), last.output());
    const back = await cluster.restart(other, []);
    await cluster.waitForVoters([other]);
    acked.set(await produceAcked(back, "z"), "z");
    await assertHolds(back, acked);
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: a restarted node serves what it knew committed before any leader answers", async () => {
  const cluster = await TestCluster.start(NAMES);
  try {
    const acked = new Map<number, string>();
    const n3 = cluster.get("n3");
    for (let i = 0; i < 5; i++) {
      acked.set(await n3.client.produce(encoder.encode(`r${i}`)), `r${i}`);
    }
    // Let n3 save what it applied (it does so at least every second and on a clean stop).
    assertEquals(await cluster.stop("n3", "SIGINT"), 0);
    await cluster.stop("n1", "SIGKILL");
    await cluster.stop("n2", "SIGKILL");
    // Alone, n3 has no leader, yet every record it saw committed is readable at once.
    const back = await cluster.restart("n3", ["--start-join-addrs", "127.0.0.1:9"]);
    for (const [offset, value] of acked) {
      assertEquals(decoder.decode((await back.client.consume(offset)).value), value);
    }
    assertEquals((await back.client.getServers()).filter((server) => server.isLeader), []);
    const ready = await fetch(`${back.node.httpUrl}/readyz`);
    assertEquals(ready.status, 503, "ready without a leader");
    await ready.body?.cancel();
  } finally {
    await cluster.close();
  }
});
