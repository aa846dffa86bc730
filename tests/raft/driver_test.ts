import { RaftError, RaftNode, type RaftTimers, realTimers } from "../../raft/mod.ts";
import { assert, assertEquals, records } from "./_harness.ts";
import { driverCluster, quiet, until } from "./_fixture.ts";

Deno.test("driver: proposals resolve with dense offsets once committed; followers redirect", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    const results = await Promise.all([
      leader.propose(records("a", "b")),
      leader.propose(records("c")),
      leader.propose(records("d")),
    ]);
    assertEquals(results.map((r) => r.baseOffset), [0, 2, 3]);
    assertEquals(leader.status().appliedNextOffset, 4, "the high watermark follows applies");
    const follower = [...cluster.nodes.values()].find((node) => node !== leader) as RaftNode;
    let error: unknown = null;
    try {
      await follower.propose(records("x"));
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof RaftError && error.code === "NOT_LEADER", `got ${error}`);
    assertEquals(error.leaderHint, leader.id);
  } finally {
    await cluster.close();
  }
});

Deno.test("driver: a follower's read barrier waits until it applied the leader's commit", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    const { index } = await leader.propose(records("x"));
    const follower = [...cluster.nodes.values()].find((node) => node !== leader) as RaftNode;
    const readIndex = await follower.readBarrier();
    assert(readIndex >= index, `read index ${readIndex} covers the append at ${index}`);
    assert(follower.status().appliedIndex >= index, "the follower applied it before answering");
  } finally {
    await cluster.close();
  }
});

Deno.test("driver: closing rejects pending proposals", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    for (const node of cluster.nodes.values()) if (node !== leader) await node.close();
    const pending = leader.propose(records("never"));
    await leader.close();
    let error: unknown = null;
    try {
      await pending;
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof RaftError, `got ${error}`);
  } finally {
    await cluster.close();
  }
});

Deno.test("driver: reportUnreachable acts after the caller returns (a transport calls it inside send)", async () => {
  const cluster = driverCluster();
  try {
    const leader = await cluster.leader();
    await leader.propose(records("x"));
    const follower = leader.followers().find((each) => each.state === "replicate");
    assert(follower !== undefined, "a follower in the replicate state after a commit");
    leader.reportUnreachable(follower.id);
    // Acting here would re-enter the driver's loop from inside its own send().
    assertEquals(leader.followers().find((each) => each.id === follower.id)?.state, "replicate");
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    assertEquals(leader.followers().find((each) => each.id === follower.id)?.state, "probe");
    assertEquals(leader.stats().unreachableReports, 1);
  } finally {
    await cluster.close();
  }
});

/**
 * The leader proposes five entries while cut off; another node leads and overwrites them on
 * it; it leads again and proposes once more, at the index of one of its overwritten
 * proposals. `fireTimeouts`: the five proposals' timeouts fire right then (before the new one
 * can commit): each settles its own proposal, never the new one at its index.
 */
async function reproposeAtOverwrittenIndex(fireTimeouts: boolean): Promise<void> {
  const timeouts: { run: () => void; cancelled: boolean }[] = [];
  const timers: RaftTimers = {
    every: realTimers.every,
    after(_delayMs, run) {
      const timeout = { run, cancelled: false };
      timeouts.push(timeout);
      return () => (timeout.cancelled = true);
    },
  };
  const cluster = driverCluster({
    extra: () => ({ timers, preVote: true, checkQuorum: true, logger: quiet }),
  });
  try {
    const first = await cluster.leader();
    const { index: k } = await first.propose(records("x"));
    const { term } = first.status();
    cluster.cut.add(first.id);
    const cutOff = [1, 2, 3, 4, 5].map((i) => {
      const timeout = timeouts.length;
      return Object.assign(outcome(first.propose(records(`p${i}`))), {
        timeout: timeouts[timeout]!,
      });
    });
    const others = [...cluster.nodes.values()].filter((node) => node !== first);
    const second = await until(
      () => others.find((n) => n.status().role === "leader" && n.status().term > term),
      "another leader",
    );
    cluster.cut.delete(first.id);
    await until(() => first.status().lastIndex < k + 5, "the cut-off entries to be overwritten");
    let polls = 0;
    await until(() => {
      if (first.status().role === "leader") return true;
      const leader = [...cluster.nodes.values()].find((n) => n.status().role === "leader");
      if (polls++ % 50 === 0) leader?.transferLeadership(first.id);
      return false;
    }, `${first.id} to lead again (after ${second.id})`);
    const again = outcome(first.propose(records("q")));
    if (fireTimeouts) { for (const { timeout } of cutOff) if (!timeout.cancelled) timeout.run(); }
    await until(() => again.settled, "the new proposal to settle");
    assertEquals(again.code, "ok", again.message);
    const j = again.index!;
    assert(j > k + 1 && j <= k + 5, `the new proposal went to ${j}, not to a cut-off index`);
    // Entries up to j are committed; the cut-off proposals there were replaced.
    const replaced = cutOff.slice(0, j - k);
    await until(() => replaced.every((p) => p.settled), "the replaced proposals to settle", 5_000);
    for (const p of replaced) {
      const codes = fireTimeouts ? ["NOT_LEADER", "UNKNOWN_OUTCOME"] : ["NOT_LEADER"];
      assert(codes.includes(p.code ?? ""), `${p.code}: ${p.message}`);
    }
  } finally {
    await cluster.close();
  }
}

/** How a proposal settled (once): `code` "ok" with its index, or its RaftError code. */
function outcome(proposal: Promise<{ index: number }>) {
  const state = {
    settled: false,
    code: null as string | null,
    index: null as number | null,
    message: "",
  };
  proposal.then(
    ({ index }) => Object.assign(state, { settled: true, code: "ok", index }),
    (error) => Object.assign(state, { settled: true, code: error.code, message: error.message }),
  );
  return state;
}

Deno.test("driver: a proposal overwritten by another leader's entry settles NOT_LEADER when that entry commits, even after a new proposal at its index", async () => {
  await reproposeAtOverwrittenIndex(false);
});

Deno.test("driver: an overwritten proposal's timeout settles it, not the later proposal at its index", async () => {
  await reproposeAtOverwrittenIndex(true);
});
