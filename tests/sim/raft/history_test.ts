import {
  type AppendOperation,
  checkHistory,
  type Operation,
  type ReadOffsetOperation,
  type ReadOperation,
} from "./history.ts";

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

function readAt(
  offset: number,
  invokeMs: number,
  completeMs: number,
  value: string | null,
): ReadOffsetOperation {
  return { kind: "readOffset", offset, invokeMs, completeMs, outcome: "ok", value };
}

function expectClean(problems: string[]): void {
  if (problems.length > 0) throw new Error(problems.join("\n"));
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
    readAt(1, 10, 11, "b"),
    readAt(3, 10, 11, null),
    { kind: "read", invokeMs: 0, completeMs: null, outcome: "unknown", end: null } as const,
    { ...readAt(0, 0, 1, "zz"), outcome: "fail" } as const,
  ];
  expectClean(checkHistory(history, ["a", "b", "c"]));
});

Deno.test("history: reads interleaved with concurrent appends pin them in between", () => {
  // a and b run concurrently with reads that see 0, 1, then 2 records: a lies in [10, 40],
  // b in [30, 60], and each read of an offset agrees with the end reads around it.
  const history = [
    append("a", 0, 100, "ok", 0),
    append("b", 0, 100, "ok", 1),
    read(10, 20, 0),
    readAt(0, 15, 25, null),
    read(30, 40, 1),
    readAt(0, 35, 45, "a"),
    readAt(1, 45, 50, null),
    read(60, 70, 2),
  ];
  expectClean(checkHistory(history, ["a", "b"]));
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
  expectProblem(checkHistory(history, ["b", "a"]), "append a at offset 1 completed at 1");
});

Deno.test("history: stale, future and out-of-range end reads are reported", () => {
  const base = [append("a", 0, 1, "ok", 0), append("b", 5, 6, "ok", 1)];
  // Saw nothing although a completed before the read began.
  expectProblem(checkHistory([...base, read(2, 3, 0)], ["a", "b"]), "must follow read [2, 3]");
  // Saw b although b was invoked after the read completed.
  expectProblem(checkHistory([...base, read(2, 3, 2)], ["a", "b"]), "must follow append b");
  expectProblem(checkHistory([...base, read(2, 3, 3)], ["a", "b"]), "beyond the final log");
});

Deno.test("history: end reads never go back in time", () => {
  const base = [append("a", 0, 1, "ok", 0), append("b", 5, 20, "ok", 1)];
  expectClean(checkHistory([...base, read(7, 8, 2), read(9, 10, 2)], ["a", "b"]));
  const backwards = [...base, read(7, 8, 2), read(9, 10, 1)];
  expectProblem(checkHistory(backwards, ["a", "b"]), "must follow read [9, 10] saw end 1");
});

Deno.test("history: an unknown append has no deadline, an acknowledged one does", () => {
  // The client gave up at 1, the append took effect later: a read at [5, 6] may miss it.
  expectClean(checkHistory([append("a", 0, 1, "unknown", null), read(5, 6, 0)], ["a"]));
  expectProblem(
    checkHistory([append("a", 0, 1, "ok", 0), read(5, 6, 0)], ["a"]),
    "append a at offset 0 completed at 1",
  );
});

Deno.test("history: a read of an offset must return the final log's value", () => {
  const base = [append("a", 0, 1, "ok", 0)];
  expectProblem(checkHistory([...base, readAt(0, 2, 3, "x")], ["a"]), "the log holds a");
  expectProblem(checkHistory([...base, readAt(1, 2, 3, "x")], ["a"]), "the log holds nothing");
});

Deno.test("history: a read of an offset sees neither the future nor the stale past", () => {
  const base = [append("a", 5, 6, "ok", 0)];
  // Found a before a was invoked.
  expectProblem(checkHistory([...base, readAt(0, 2, 3, "a")], ["a"]), "must follow append a");
  // Found nothing at 0 although a completed before the read began.
  expectProblem(checkHistory([...base, readAt(0, 7, 8, null)], ["a"]), "append a at offset 0");
  // Nothing is ever written at 1: "not found" fits anywhere.
  expectClean(checkHistory([...base, readAt(1, 7, 8, null)], ["a"]));
});

Deno.test("history: reads of one offset are exact across each other through the append", () => {
  // Each read alone is possible against a's window [0, 100]; together they need a both
  // after 50 (the miss) and before 45 (the hit), which no linearization allows.
  const history = [
    append("a", 0, 100, "ok", 0),
    readAt(0, 50, 60, null),
    readAt(0, 0, 45, "a"),
  ];
  expectClean(checkHistory(history.slice(0, 2), ["a"]));
  expectClean(checkHistory([history[0], history[2]] as Operation[], ["a"]));
  expectProblem(checkHistory(history, ["a"]), "must follow read of offset 0 [50, 60]");
});

Deno.test("history: a read chain through several appends is caught", () => {
  // The miss at offset 0 pushes a past 50, hence b past 50, but a read saw b by 45.
  const history = [
    append("a", 0, 100, "ok", 0),
    append("b", 0, 100, "ok", 1),
    readAt(0, 50, 60, null),
    read(0, 45, 2),
  ];
  expectProblem(checkHistory(history, ["a", "b"]), "read [0, 45] saw end 2, but must follow");
});
