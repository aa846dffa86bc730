import { type AppendOperation, checkHistory, type ReadOperation } from "./history.ts";

function append(
  value: string,
  invokeMs: number,
  completeMs: number | null,
  outcome: AppendOperation["outcome"],
  offset: number | null,
): AppendOperation {
  return { kind: "append", value, invokeMs, completeMs, outcome, offset };
}

function read(invokeMs: number, completeMs: number, end: number): ReadOperation {
  return { kind: "read", invokeMs, completeMs, outcome: "ok", end };
}

function expectProblem(problems: string[], includes: string): void {
  if (!problems.some((p) => p.includes(includes))) {
    throw new Error(`expected a problem mentioning "${includes}", got ${JSON.stringify(problems)}`);
  }
}

Deno.test("history: a consistent history has no problems", () => {
  const history = [
    append("a", 0, 5, "ok", 0),
    append("b", 1, 9, "ok", 1),
    append("c", 2, null, "unknown", null),
    append("d", 3, 4, "fail", null),
    read(10, 12, 3),
    read(13, 14, 3),
  ];
  const problems = checkHistory(history, ["a", "b", "c"]);
  if (problems.length > 0) throw new Error(problems.join("\n"));
});

Deno.test("history: an acknowledged append missing or elsewhere is reported", () => {
  expectProblem(checkHistory([append("a", 0, 1, "ok", 0)], []), "acknowledged append a");
  expectProblem(checkHistory([append("a", 0, 1, "ok", 1)], ["x", "a"]), "never appended");
});

Deno.test("history: duplicates and failed appends in the log are reported", () => {
  expectProblem(checkHistory([append("a", 0, 1, "ok", 0)], ["a", "a"]), "twice");
  expectProblem(checkHistory([append("a", 0, 1, "fail", null)], ["a"]), "failed append a");
});

Deno.test("history: offsets must respect real-time order of appends", () => {
  const history = [append("a", 0, 1, "ok", 1), append("b", 2, 3, "ok", 0)];
  expectProblem(checkHistory(history, ["b", "a"]), "completed at 1 before b");
});

Deno.test("history: stale and future reads are reported", () => {
  const base = [append("a", 0, 1, "ok", 0), append("b", 5, 6, "ok", 1)];
  expectProblem(checkHistory([...base, read(2, 3, 0)], ["a", "b"]), "saw end 0");
  expectProblem(checkHistory([...base, read(2, 3, 2)], ["a", "b"]), "invoked later");
  const backwards = [...base, read(7, 8, 2), read(9, 10, 1)];
  expectProblem(checkHistory(backwards, ["a", "b"]), "after a read that completed");
});
