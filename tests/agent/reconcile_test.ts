import { nextChange, type ReconcileMember, type ReconcileView } from "../../agent/_reconcile.ts";

function assertEquals(actual: unknown, expected: unknown, message: string): void {
  const [a, b] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== b) throw new Error(`${message}\n  actual:   ${a}\n  expected: ${b}`);
}

const alive = (name: string): ReconcileMember => ({ name, status: "alive", hasRaft: true });

function view(overrides: Partial<ReconcileView>): ReconcileView {
  return {
    self: "n1",
    members: [alive("n1"), alive("n2"), alive("n3")],
    membership: { voters: ["n1", "n2", "n3"], learners: [] },
    followers: [{ id: "n2", match: 10 }, { id: "n3", match: 10 }],
    commitIndex: 10,
    ...overrides,
  };
}

Deno.test("reconcile: a configuration that matches the member list needs no change", () => {
  assertEquals(nextChange(view({})), null, "no change");
});

Deno.test("reconcile: a member that left is removed; a failed one never is", () => {
  for (const status of ["suspect", "dead"] as const) {
    const members = [alive("n1"), alive("n2"), { name: "n3", status, hasRaft: true }];
    assertEquals(nextChange(view({ members })), null, `${status} member kept`);
  }
  const members = [alive("n1"), alive("n2"), {
    name: "n3",
    status: "left" as const,
    hasRaft: true,
  }];
  assertEquals(nextChange(view({ members })), { type: "remove", id: "n3" }, "left member removed");
  // The leader itself leaving hands over first; reconciliation never removes it.
  const selfLeft = [
    { name: "n1", status: "left" as const, hasRaft: true },
    alive("n2"),
    alive("n3"),
  ];
  assertEquals(nextChange(view({ members: selfLeft })), null, "self never removed");
});

Deno.test("reconcile: a new live member with a Raft address joins as a learner", () => {
  const membership = { voters: ["n1", "n2"], learners: [] };
  assertEquals(nextChange(view({ membership })), { type: "addLearner", id: "n3" }, "learner");
  const noRaft = [alive("n1"), alive("n2"), {
    name: "n3",
    status: "alive" as const,
    hasRaft: false,
  }];
  assertEquals(nextChange(view({ membership, members: noRaft })), null, "no Raft address");
  const dead = [alive("n1"), alive("n2"), { name: "n3", status: "dead" as const, hasRaft: true }];
  assertEquals(nextChange(view({ membership, members: dead })), null, "not while dead");
});

Deno.test("reconcile: a learner becomes a voter only once it holds everything committed", () => {
  const membership = { voters: ["n1", "n2"], learners: ["n3"] };
  const behind = [{ id: "n2", match: 10 }, { id: "n3", match: 9 }];
  assertEquals(nextChange(view({ membership, followers: behind })), null, "behind: wait");
  assertEquals(nextChange(view({ membership })), { type: "addVoter", id: "n3" }, "caught up");
  const suspect = [alive("n1"), alive("n2"), {
    name: "n3",
    status: "suspect" as const,
    hasRaft: true,
  }];
  assertEquals(nextChange(view({ membership, members: suspect })), null, "not while suspect");
});

Deno.test("reconcile: removals come before additions, additions before promotions", () => {
  const members = [
    alive("n1"),
    { name: "n2", status: "left" as const, hasRaft: true },
    alive("n3"),
    alive("n4"),
  ];
  const membership = { voters: ["n1", "n2"], learners: ["n3"] };
  assertEquals(nextChange(view({ members, membership })), { type: "remove", id: "n2" }, "remove");
  const rest = [alive("n1"), alive("n3"), alive("n4")];
  const after = { voters: ["n1"], learners: ["n3"] };
  assertEquals(nextChange(view({ members: rest, membership: after })), {
    type: "addLearner",
    id: "n4",
  }, "add");
});
