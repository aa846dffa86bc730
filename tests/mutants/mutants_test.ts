import { applyMutant, AREAS, failedFiles, firstFailingSeed, loadMutants } from "./run.ts";

function assertEquals(actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

Deno.test("mutants: a mutant applies only where its text occurs exactly once", () => {
  const mutant = { find: "a < b", replace: "a <= b" };
  assertEquals(applyMutant("if (a < b) x();", mutant), "if (a <= b) x();");
  assertEquals(applyMutant("if (a > b) x();", mutant), null);
  assertEquals(applyMutant("a < b; a < b", mutant), null);
});

Deno.test("mutants: the failing test files come from deno test's FAILURES section", () => {
  const output = [
    "./tests/raft/driver_test.ts => vote ... ok (1ms)",
    " ERRORS ",
    "leader steps down => ./tests/raft/election_test.ts:12:6",
    "error: Error: boom",
    " FAILURES ",
    "leader steps down => ./tests/raft/election_test.ts:12:6",
    "sim => ./tests/sim/raft/sim_test.ts:7:6",
    "FAILED | 61 passed | 2 failed",
  ].join("\n");
  assertEquals(failedFiles(output), ["tests/raft/election_test.ts", "tests/sim/raft/sim_test.ts"]);
  assertEquals(failedFiles("error: Module not found"), ["(does not load)"]);
  assertEquals(failedFiles("ok | 3 passed | 0 failed"), []);
});

Deno.test("mutants: a run cut short by the timeout still names the files that failed", () => {
  // --parallel prints each test's result as it ends; a killed run has no FAILURES section.
  const output = [
    "./tests/sim/raft/windows_test.ts => window: a leader counts ... FAILED (1ms)",
    "./tests/raft/driver_test.ts => vote ... ok (1ms)",
    "./tests/sim/raft/sim_test.ts => raft simulation: 500 seeds ...",
  ].join("\n");
  assertEquals(failedFiles(output), ["tests/sim/raft/windows_test.ts"]);
});

Deno.test("mutants: the first failing seed is the smallest one reported", () => {
  const output = "ok crash seed=1\nFAIL crash seed=9 size=5\nFAIL partition seed=4 size=3\n";
  assertEquals(firstFailingSeed(output), 4);
  assertEquals(firstFailingSeed("FAIL seed=17 nodes=3 ops=1"), 17);
  assertEquals(firstFailingSeed("10/10 seeds passed"), null);
});

Deno.test("mutants: every list is well formed and names a file of a known area", () => {
  const mutants = loadMutants();
  if (mutants.length < 12) throw new Error(`only ${mutants.length} mutants listed`);
  for (const mutant of mutants) {
    const area = mutant.area ?? mutant.file.split("/")[0] ?? "";
    if (AREAS[area] === undefined) throw new Error(`${mutant.id}: unknown area ${area}`);
    Deno.statSync(mutant.file);
    if (mutant.find === mutant.replace) throw new Error(`${mutant.id}: replace equals find`);
  }
});

Deno.test("mutants: every mutant still applies (its text occurs exactly once in its file)", () => {
  // A refactor that moves a mutant's text makes it stale: the runner then skips it, and the
  // table would claim a catch nobody re-checked. Fail here, where the change is made.
  const stale = loadMutants()
    .filter((mutant) => applyMutant(Deno.readTextFileSync(mutant.file), mutant) === null)
    .map((mutant) => `${mutant.id} (${mutant.file})`);
  assertEquals(stale, []);
});
