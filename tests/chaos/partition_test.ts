/**
 * Real network partitions: `serve` processes in network namespaces on bridges, links cut by
 * detaching a node's port (tests/chaos/_netns.ts). Without namespaces the tests say why and
 * run on loopback behind fault-injecting proxies instead (tests/chaos/_proxy_net.ts); one
 * test always runs on the proxies, so the fallback is tested everywhere.
 */
import { ChaosCluster, readAll, until } from "./_cluster.ts";
import { History } from "./_history.ts";
import { chaosNet } from "./_net.ts";
import { ProxyNet } from "./_proxy_net.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Reads every node's log, checks they agree, and checks the history against it. */
async function checkFinal(cluster: ChaosCluster, history: History): Promise<string[]> {
  // Every node answers (a node that just rejoined may need a moment to learn the leader).
  const logs = await until(
    "every node to answer a full read",
    () => Promise.all(cluster.nodes.map((node) => readAll(node))),
    10_000,
  );
  const first = logs[0]!;
  for (const [index, log] of logs.entries()) {
    assert(
      JSON.stringify(log) === JSON.stringify(first),
      `n${index + 1} holds ${JSON.stringify(log)}, n1 ${JSON.stringify(first)}`,
    );
  }
  const problems = history.check(first);
  assert(problems.length === 0, `history problems:\n${problems.join("\n")}`);
  for (const [value, offset] of history.acknowledged()) {
    assert(first[offset] === value, `acknowledged ${value} at ${offset} lost`);
  }
  return first;
}

/** Leader isolation: the scenario both networks run. */
async function isolateLeader(cluster: ChaosCluster): Promise<void> {
  const history = new History();
  const old = (await cluster.allVoters())!;
  const others = [0, 1, 2].filter((index) => index !== old);
  for (let i = 0; i < 3; i++) {
    assert(await history.append(cluster.nodes[old]!, `before-${i}`, 5000) !== null, "pre-write");
  }

  await cluster.lab.isolate(old);
  const cutMs = Date.now();
  // The isolated leader cannot get a quorum: no acknowledgement, whatever it answers.
  const minorityWrite = history.append(cluster.nodes[old]!, "minority", 3000);
  const elected = await until(
    "a new leader on the majority side",
    async () => {
      const leader = await cluster.agreedLeader(others);
      return leader !== null && leader !== old ? leader : null;
    },
    15_000,
  ).catch((error) => {
    throw new Error(`${error}\n${cluster.outputs()}`);
  });
  console.log(`chaos: new leader n${elected + 1} ${Date.now() - cutMs} ms after the cut`);
  const minority = await minorityWrite;
  assert(minority === null, `the isolated leader acknowledged a write at ${minority}`);
  for (let i = 0; i < 3; i++) {
    const node = cluster.nodes[others[i % 2]!]!;
    assert(await history.append(node, `majority-${i}`, 5000) !== null, "majority write");
  }
  // The isolated node never reports the majority's writes as missing (it may fail to answer).
  await history.readOffset(cluster.nodes[old]!, 3, 2000);
  // The old leader steps down on its own (check-quorum), before the heal.
  await until("the isolated leader to step down", async () => {
    return (await cluster.leaderSeenBy(old)) !== old ? true : null;
  }, 10_000);

  await cluster.lab.heal();
  const healMs = Date.now();
  await until("the old leader to follow the new one", async () => {
    return (await cluster.leaderSeenBy(old)) === elected ? true : null;
  }, 15_000);
  const log = await until("the old leader to catch up", async () => {
    const values = await readAll(cluster.nodes[old]!);
    return values.includes("majority-2") ? values : null;
  }, 15_000);
  console.log(`chaos: old leader caught up ${Date.now() - healMs} ms after the heal`);
  assert(!log.includes("minority"), "the isolated leader's uncommitted write survived");
  await checkFinal(cluster, history);
}

Deno.test({
  name: "partition: an isolated leader cannot commit, the majority elects, heal catches up",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await ChaosCluster.start(await chaosNet(3));
    await isolateLeader(cluster);
  },
});

Deno.test({
  name: "partition (proxy fallback): leader isolation through fault-injecting proxies",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const network = await ProxyNet.create(3);
    await using cluster = await ChaosCluster.start(network);
    await isolateLeader(cluster);
    // The proxies did cut something: the test cannot pass on an intact network.
    const { datagrams, connections } = network.dropped;
    if (datagrams + connections === 0) throw new Error("the proxies dropped nothing");
    console.log(`chaos: proxies dropped ${datagrams} datagrams, ${connections} connections`);
  },
});

Deno.test({
  name: "partition: a 2/3 split — only the majority commits; heal reunites one log",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await ChaosCluster.start(await chaosNet(5));
    const history = new History();
    const old = (await cluster.allVoters())!;
    const all = [0, 1, 2, 3, 4];
    const minoritySide = [old, (old + 1) % 5];
    const majoritySide = all.filter((index) => !minoritySide.includes(index));
    await history.append(cluster.nodes[old]!, "before", 5000);

    await cluster.lab.split([majoritySide, minoritySide]);
    // Both minority nodes, right after the cut: nothing acknowledged (the old leader cannot
    // commit; the follower forwards to it or finds no leader).
    const minorityWrites = Promise.all(
      minoritySide.map((index, i) => history.append(cluster.nodes[index]!, `minority-${i}`, 3000)),
    );
    const elected = await until("a leader on the majority side", async () => {
      const leader = await cluster.agreedLeader(majoritySide);
      return leader !== null && majoritySide.includes(leader) ? leader : null;
    }, 15_000);
    const results = await minorityWrites;
    assert(results.every((r) => r === null), `minority acknowledged: ${results}`);
    for (const [i, index] of majoritySide.entries()) {
      assert(await history.append(cluster.nodes[index]!, `majority-${i}`, 5000) !== null, "write");
    }
    // Reads on the majority see the majority's writes; the minority never invents any.
    for (const index of all) await history.readOffset(cluster.nodes[index]!, 1, 3000);

    await cluster.lab.heal();
    await until("one leader for all five", async () => {
      const leader = await cluster.agreedLeader(all);
      return leader === elected ? leader : null;
    }, 15_000);
    await until("every node to hold the majority's writes", async () => {
      const logs = await Promise.all(cluster.nodes.map((node) => readAll(node)));
      return logs.every((log) => log.includes(`majority-${majoritySide.length - 1}`)) ? true : null;
    }, 15_000);
    for (const index of all) await history.readOffset(cluster.nodes[index]!, 1, 3000);
    await checkFinal(cluster, history);
  },
});

Deno.test({
  name: "partition: a stopped and isolated leader wakes behind a new one: no stale read",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await ChaosCluster.start(await chaosNet(3));
    const history = new History();
    const old = (await cluster.allVoters())!;
    const others = [0, 1, 2].filter((index) => index !== old);
    await history.append(cluster.nodes[old]!, "before", 5000);
    // Stopped and cut off: when it wakes, no message from the new leader waits in its sockets.
    cluster.nodes[old]!.pause();
    await cluster.lab.isolate(old);
    const elected = await until("a new leader while the old one is stopped", async () => {
      const leader = await cluster.agreedLeader(others);
      return leader !== null && leader !== old ? leader : null;
    }, 15_000);
    const offset = await history.append(cluster.nodes[elected]!, "after", 5000);
    assert(offset === 1, `the new leader acknowledged at ${offset}`);
    // Asked while stopped, answered right after it wakes: it still believes it leads, so only
    // a quorum round (ReadIndex) keeps it from answering "offset 1 not written yet".
    const read = history.readOffset(cluster.nodes[old]!, 1, 5000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the request reaches its socket
    cluster.nodes[old]!.resume();
    const value = await read;
    assert(value !== null, "the resumed old leader reported acknowledged offset 1 as missing");
    await cluster.lab.heal();
    await until("the old leader to follow the new one", async () => {
      return (await cluster.leaderSeenBy(old)) === elected ? true : null;
    }, 10_000);
    await checkFinal(cluster, history);
  },
});
