/**
 * The operators' view and controls on a real three-node cluster started with the shipped
 * flags: `GET /v1/cluster` and `/v1/status`, `strand status`, `transfer-leadership`,
 * `remove-member` of a killed node.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { TestCluster, until } from "./_cluster.ts";
import { runCli, startNode, tempDir } from "./_node.ts";
import { deadAddress } from "../_ports.ts";

interface ClusterNodeJson {
  name: string;
  rpcAddr: string;
  httpAddr: string | null;
  suffrage: string;
  role: string;
  reachable: boolean;
  error?: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  matchIndex: number | null;
  lag: number | null;
  log: { firstOffset: number; nextOffset: number; bytes: number };
  counters: { recordsProduced: number; recordsConsumed: number };
}

interface ClusterJson {
  time: string;
  leader: { name: string; rpcAddr: string } | null;
  term: number;
  nodes: ClusterNodeJson[];
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${body}`);
  return JSON.parse(body) as T;
}

Deno.test("a standalone node's /v1/cluster shows itself as the one leader", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path, ["--node-name", "solo"]);
  try {
    const view = await getJson<ClusterJson>(`${node.httpUrl}/v1/cluster`);
    assertEquals(view.nodes.length, 1);
    const [solo] = view.nodes;
    assertEquals(solo!.name, "solo");
    assertEquals(solo!.role, "leader");
    assertEquals(solo!.reachable, true);
    assertEquals(view.leader?.name, "solo");
    assert(!Number.isNaN(Date.parse(view.time)), "time is an ISO date");
  } finally {
    await node.stop("SIGKILL");
  }
});

Deno.test("cluster status on a three-node cluster", async (t) => {
  const cluster = await TestCluster.start(["n1", "n2", "n3"]);
  try {
    const n1 = cluster.get("n1");
    await n1.client.produce(new TextEncoder().encode("a"));
    await n1.client.produce(new TextEncoder().encode("b"));

    await t.step(
      "GET /v1/cluster: one leader, every node reachable, lag for followers",
      async () => {
        const view = await until("every follower caught up in /v1/cluster", async () => {
          const view = await getJson<ClusterJson>(`${n1.node.httpUrl}/v1/cluster`);
          const caughtUp = view.nodes.every((node) => node.reachable && node.lag === 0);
          return caughtUp ? view : null;
        });
        assertEquals(view.nodes.map((node) => node.name).sort(), ["n1", "n2", "n3"]);
        const leaders = view.nodes.filter((node) => node.role === "leader");
        assertEquals(leaders.length, 1);
        assertEquals(view.leader?.name, leaders[0]!.name);
        for (const node of view.nodes) {
          assertEquals(node.suffrage, "voter");
          assertEquals(node.log.nextOffset, 2);
          assertEquals(node.matchIndex, view.nodes.find((n) => n.role === "leader")!.matchIndex);
          assert(node.httpAddr !== null, `${node.name} reports its HTTP address`);
        }
      },
    );

    await t.step("GET /v1/status on a follower names the leader", async () => {
      const leader = (await cluster.leader())!;
      const follower = ["n1", "n2", "n3"].find((name) => name !== leader)!;
      const status = await getJson<{ role: string; leader: { name: string } }>(
        `${cluster.get(follower).node.httpUrl}/v1/status`,
      );
      assertEquals(status.role, "follower");
      assertEquals(status.leader.name, leader);
    });

    await t.step("strand status: a table with one leader, and JSON that parses", async () => {
      const table = await runCli(["status", "--addr", n1.node.rpcAddr]);
      assertEquals(table.code, 0, table.stderr);
      const rows = table.stdout.split("\n").filter((line) => /^n\d\s/.test(line));
      assertEquals(rows.length, 3, table.stdout);
      assertEquals(rows.filter((row) => /\sleader\s/.test(row)).length, 1, table.stdout);
      const json = await runCli(["status", "--addr", n1.node.rpcAddr, "--output", "json"]);
      assertEquals(json.code, 0, json.stderr);
      const view = JSON.parse(json.stdout) as ClusterJson;
      assertEquals(view.nodes.filter((node) => node.role === "leader").length, 1);
      const followers = view.nodes.filter((node) => node.role === "follower");
      assertEquals(followers.length, 2);
      for (const node of followers) assertEquals(typeof node.lag, "number");
    });

    await t.step("strand status with a dead member listed first asks the next one", async () => {
      const dead = await deadAddress(); // nothing listens there: connections are refused
      const result = await runCli(["status", "--addr", `${dead},${n1.node.rpcAddr}`]);
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout.split("\n").filter((line) => /^n\d\s/.test(line)).length, 3);
      const alone = await runCli(["status", "--addr", dead]);
      assertEquals(alone.code, 1);
      assert(/nothing is listening|Cannot connect/i.test(alone.stderr), alone.stderr);
    });

    await t.step("strand servers --output json lists the three", async () => {
      const result = await runCli(["servers", "--addr", n1.node.rpcAddr, "--output", "json"]);
      assertEquals(result.code, 0, result.stderr);
      const servers = JSON.parse(result.stdout) as { id: string; isLeader: boolean }[];
      assertEquals(servers.map((server) => server.id).sort(), ["n1", "n2", "n3"]);
      assertEquals(servers.filter((server) => server.isLeader).length, 1);
    });

    let leader = (await cluster.leader())!;
    await t.step("transfer-leadership --to a follower, asked of another node", async () => {
      const [target, asked] = ["n1", "n2", "n3"].filter((name) => name !== leader) as [
        string,
        string,
      ];
      const result = await runCli([
        "transfer-leadership",
        "--to",
        target,
        "--addr",
        cluster.get(asked).node.rpcAddr,
      ]);
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout.trim(), `${target} leads now`);
      leader = await until(`${target} to lead`, async () => {
        const now = await cluster.leader();
        return now === target ? now : null;
      });
    });

    await t.step("remove-member: refused while alive, then removes a killed node", async () => {
      const victim = ["n1", "n2", "n3"].find((name) => name !== leader)!;
      const survivor = ["n1", "n2", "n3"].find((name) => name !== leader && name !== victim)!;
      const addr = cluster.get(survivor).node.rpcAddr;
      const alive = await runCli(["remove-member", victim, "--addr", addr]);
      assertEquals(alive.code, 1, alive.stdout);
      assert(alive.stderr.includes("alive"), alive.stderr);
      const unknown = await runCli(["remove-member", "nobody", "--addr", addr]);
      assertEquals(unknown.code, 1);
      assert(unknown.stderr.includes("NOT_FOUND"), unknown.stderr);
      await cluster.stop(victim, "SIGKILL");
      const view = await until(`${victim} unreachable in /v1/cluster`, async () => {
        const url = `${cluster.get(leader).node.httpUrl}/v1/cluster`;
        const view = await getJson<ClusterJson>(url);
        const node = view.nodes.find((node) => node.name === victim);
        return node?.reachable === false ? view : null;
      });
      assert(view.nodes.find((node) => node.name === victim)!.error !== undefined);
      // Gossip must declare it failed first; until then the leader refuses (it would re-add it).
      await until(
        `${victim} removed`,
        async () => {
          const result = await runCli(["remove-member", victim, "--addr", addr]);
          return result.code === 0 ? result : null;
        },
        20_000,
        500,
      );
      for (const name of [leader, survivor]) {
        const servers = await cluster.get(name).client.getServers();
        assertEquals(servers.map((server) => server.id).sort(), [leader, survivor].sort());
      }
      // The quorum is now 2 of 2: a write commits without the removed node.
      await cluster.get(survivor).client.produce(new TextEncoder().encode("after removal"));
    });
  } finally {
    await cluster.close();
  }
});
