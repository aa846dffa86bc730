/**
 * The crash windows the simulators reach only rarely, pinned down one step at a time: what a
 * node promises in a message must be in the Ready that is persisted before that message
 * leaves, and a follower must promise only what the append it answers verified. Each test
 * catches a listed mutant (tests/mutants/raft.json) that random seeds seldom reach.
 */

import { type Entry, EntryKind, MemoryLog } from "../../../log/mod.ts";
import {
  type Message,
  MessageType,
  RaftCore,
  type RaftOptions,
  type Ready,
} from "../../../raft/mod.ts";

function assertEquals(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const voters = ["a", "b", "c"];
const fixedRandom = { intBelow: () => 0 };

function core(
  id: string,
  store: MemoryLog,
  persisted: RaftOptions["persisted"],
  options: { learners?: string[]; preVote?: boolean } = {},
): RaftCore {
  return new RaftCore({
    id,
    store,
    random: fixedRandom,
    persisted,
    bootstrap: { voters, learners: options.learners ?? [] },
    preVote: options.preVote ?? false,
    checkQuorum: false,
    electionTimeoutTicks: 10,
  });
}

function entry(index: number, term: number, baseOffset: number): Entry {
  const records = [new TextEncoder().encode(`e${index}`)];
  return { index, term, kind: EntryKind.Records, baseOffset, records, data: new Uint8Array() };
}

/** Persists a Ready the way the driver does (entries, then advance). */
async function persist(node: RaftCore, store: MemoryLog): Promise<Ready> {
  const ready = node.ready();
  if (ready.persist.truncateFrom !== null) await store.truncateSuffix(ready.persist.truncateFrom);
  if (ready.persist.entries.length > 0) await store.appendEntries(ready.persist.entries);
  node.advance(ready);
  return ready;
}

Deno.test("window: a vote granted in the current term is in the state saved before the answer", () => {
  // The voter already knows term 5 (saved earlier, no vote): granting changes only the vote.
  const store = new MemoryLog();
  const voter = core("c", store, {
    term: 5,
    vote: null,
    configs: [{ index: 0, term: 0, membership: { voters, learners: [] } }],
  });
  voter.step({
    type: MessageType.Vote,
    from: "a",
    to: "c",
    term: 5,
    lastIndex: 0,
    lastTerm: 0,
    transfer: false,
  } as Message);
  const ready = voter.ready();
  const answer = ready.messages.find((m) => m.type === MessageType.VoteResponse);
  assertEquals(answer !== undefined && "granted" in answer && answer.granted, true, "granted");
  // Without the vote in this Ready, a crash after the answer leaves lets it vote again in term 5.
  assertEquals(ready.state?.term, 5, "saved term");
  assertEquals(ready.state?.vote, "a", "saved vote");
});

Deno.test("window: a follower acknowledges prevIndex + entries, not a stale suffix", async () => {
  // The follower holds 1..5; 3..5 are from term 2, a leader that lost. The new leader (term
  // 3) sends entry 2 alone (a small append limit split its batch).
  const store = new MemoryLog();
  await store.appendEntries([1, 2, 3, 4, 5].map((i) => entry(i, i <= 2 ? 1 : 2, i - 1)));
  const follower = core("c", store, {
    term: 2,
    vote: null,
    configs: [{ index: 0, term: 0, membership: { voters, learners: [] } }],
  });
  follower.step({
    type: MessageType.Append,
    from: "a",
    to: "c",
    term: 3,
    prevIndex: 1,
    prevTerm: 1,
    entries: [entry(2, 1, 1)],
    commit: 5,
  } as Message);
  const ready = await persist(follower, store);
  const answer = ready.messages.find((m) => m.type === MessageType.AppendResponse);
  assertEquals(answer && "index" in answer ? answer.index : null, 2, "acknowledged index");
  // Nor may it commit past what this append verified: 3..5 may differ from the leader's.
  assertEquals(follower.status().commitIndex, 2, "commit index");
});

/** A leader of term 1 over a, b, c (and learner d), its no-op at index 1 committed. */
async function electedLeader(store: MemoryLog, learners: string[] = []): Promise<RaftCore> {
  const leader = core("a", store, null, { learners });
  await persist(leader, store);
  for (let i = 0; i < 30 && leader.status().role !== "candidate"; i++) leader.tick();
  await persist(leader, store);
  const term = leader.status().term;
  leader.step(
    { type: MessageType.VoteResponse, from: "b", to: "a", term, granted: true } as Message,
  );
  await persist(leader, store);
  acknowledge(leader, "b", 1);
  assertEquals(leader.status().commitIndex, 1, "no-op committed");
  return leader;
}

function acknowledge(leader: RaftCore, from: string, index: number): void {
  leader.step({
    type: MessageType.AppendResponse,
    from,
    to: "a",
    term: leader.status().term,
    success: true,
    index,
    conflictTerm: 0,
    conflictIndex: 0,
  } as Message);
}

Deno.test("window: a learner's copy does not count toward the commit quorum", async () => {
  const store = new MemoryLog();
  const leader = await electedLeader(store, ["d"]);
  leader.propose([new TextEncoder().encode("x")]);
  await persist(leader, store);
  acknowledge(leader, "d", 2);
  // a and learner d hold entry 2: one voter of three, not a majority.
  assertEquals(leader.status().commitIndex, 1, "commit with a learner's copy");
  acknowledge(leader, "c", 2);
  assertEquals(leader.status().commitIndex, 2, "commit with a voter's copy");
});

Deno.test("window: granting a pre-vote changes no vote", () => {
  const store = new MemoryLog();
  const voter = core("c", store, {
    term: 5,
    vote: "a",
    configs: [{ index: 0, term: 0, membership: { voters, learners: [] } }],
  }, { preVote: true });
  const request = (type: number, term: number) =>
    voter.step(
      { type, from: "b", to: "c", term, lastIndex: 0, lastTerm: 0, transfer: false } as Message,
    );
  request(MessageType.PreVote, 6);
  // A vote request of term 5 from b, delayed in the network, must not get a second vote.
  request(MessageType.Vote, 5);
  const ready = voter.ready();
  const votes = ready.messages.filter((m) => m.type === MessageType.VoteResponse);
  assertEquals(votes.map((m) => "granted" in m && m.granted), [false], "vote of term 5");
  assertEquals(ready.state === null || ready.state.vote === "a", true, "saved vote stays a");
});

Deno.test("window: a leader does not count its own entry before it is durable", async () => {
  const store = new MemoryLog();
  const leader = core("a", store, null);
  await persist(leader, store);
  for (let i = 0; i < 30 && leader.status().role !== "candidate"; i++) leader.tick();
  await persist(leader, store);
  const term = leader.status().term;
  leader.step(
    { type: MessageType.VoteResponse, from: "b", to: "a", term, granted: true } as Message,
  );
  assertEquals(leader.status().role, "leader", "role");
  await persist(leader, store); // the no-op at index 1 is durable here
  const ack = (index: number) =>
    leader.step({
      type: MessageType.AppendResponse,
      from: "b",
      to: "a",
      term,
      success: true,
      index,
      conflictTerm: 0,
      conflictIndex: 0,
    } as Message);
  ack(1);
  assertEquals(leader.status().commitIndex, 1, "no-op committed");
  leader.propose([new TextEncoder().encode("x")]);
  const inFlight = leader.ready(); // handed to the disk, not durable yet
  ack(2);
  // b alone holds entry 2 durably: a crash of the leader now could lose it.
  assertEquals(leader.status().commitIndex, 1, "commit before the leader's write lands");
  await store.appendEntries(inFlight.persist.entries);
  leader.advance(inFlight);
  assertEquals(leader.status().commitIndex, 2, "commit once durable");
});
