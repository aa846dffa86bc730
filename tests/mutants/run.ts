/**
 * Measures the power of the tests: applies seeded single-line bugs (mutants) one at a time to
 * a temporary copy of the repository and reports which test file catches each, and after how
 * many simulation seeds. The working tree is never modified.
 *
 * Mutant lists are `tests/mutants/*.json`: JSON arrays of
 * `{"id", "file", "find", "replace", "note"}` where `find` is an exact substring occurring
 * once in `file`. The list's area is the `area` field of a mutant or, by default, derived from
 * the path of `file` (raft/, discovery/, log/).
 *
 * `deno task mutants [--only ID] [--area A] [--list] [--seeds N] [--no-seeds] [--no-tests]`
 *
 * A mutant whose `find` no longer occurs exactly once is STALE (fix the list, it says nothing
 * about the tests). A mutant no test catches is SURVIVED: it needs a test, or its `note` must
 * say why it survives ("Survives: ..." — an equivalent mutant, a liveness-only change the
 * tests cannot time). The exit status is non-zero on a stale or an unexplained survivor.
 * @module
 */

/** One seeded bug. */
export interface Mutant {
  readonly id: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  readonly note?: string;
  readonly area?: string;
  /** The list it came from. */
  readonly list: string;
}

/** How an area's tests run: unit/integration test paths and, optionally, a seed sweep. */
interface AreaCommands {
  readonly tests: readonly string[];
  /** Simulation sweep: arguments of `deno run -A`, `{seeds}` replaced by the seed count. */
  readonly sim?: readonly string[];
}

/** Which tests belong to which area. */
export const AREAS: Readonly<Record<string, AreaCommands>> = {
  raft: {
    tests: ["tests/raft/", "tests/sim/raft/"],
    sim: ["tests/sim/raft/replay.ts", "--from", "1", "--count", "{seeds}", "--stop-first"],
  },
  discovery: {
    tests: ["tests/discovery/", "tests/sim/swim/"],
    sim: ["tests/sim/swim/replay.ts", "--seeds", "{seeds}"],
  },
  dedup: {
    tests: [
      "tests/agent/producers_test.ts",
      "tests/agent/exactly_once_test.ts",
      "tests/server/produce_fields_test.ts",
      "tests/log/batch_data_test.ts",
      "tests/e2e/exactly_once_test.ts",
      "tests/client/balancer_test.ts",
    ],
  },
  leave: {
    tests: [
      "tests/agent/leave_test.ts",
      "tests/agent/leave_pending_test.ts",
      "tests/agent/lone_voter_test.ts",
      "tests/agent/reconcile_test.ts",
      "tests/e2e/leave_test.ts",
    ],
  },
  fastpath: {
    tests: [
      "tests/server/flow_control_test.ts",
      "tests/server/raw_writer_test.ts",
      "tests/server/conn_socket_test.ts",
      "tests/server/grpc_test.ts",
      "tests/server/malformed_test.ts",
      "tests/server/produce_fields_test.ts",
    ],
  },
  limits: {
    tests: [
      "tests/server/h2_window_test.ts",
      "tests/server/memory_bound_test.ts",
      "tests/server/raw_writer_test.ts",
    ],
  },
  log: {
    tests: ["tests/log/", "tests/sim/raft/disk_sim_test.ts"],
    sim: [
      "tests/sim/raft/replay.ts",
      "--disk",
      "--from",
      "1",
      "--count",
      "{seeds}",
      "--stop-first",
    ],
  },
};

/** The outcome of one mutant. */
export interface Outcome {
  readonly mutant: Mutant;
  readonly status: "CAUGHT" | "SURVIVED" | "STALE";
  /** Test files that failed (with --fail-fast, the first one). */
  readonly caughtBy: readonly string[];
  /** The first failing seed of the simulation sweep, null if none failed or none ran. */
  readonly firstSeed: number | null;
  readonly seconds: number;
  readonly detail: string;
}

const ROOT = new URL("../../", import.meta.url).pathname;

function areaOf(mutant: Omit<Mutant, "list">): string {
  if (mutant.area !== undefined) return mutant.area;
  const top = mutant.file.split("/")[0] ?? "";
  return top;
}

/** Reads every `tests/mutants/*.json` list; throws on malformed entries or duplicate ids. */
export function loadMutants(root = ROOT): Mutant[] {
  const mutants: Mutant[] = [];
  const seen = new Set<string>();
  const dir = `${root}tests/mutants`;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"));
  for (const name of names.sort()) {
    const parsed: unknown = JSON.parse(Deno.readTextFileSync(`${dir}/${name}`));
    if (!Array.isArray(parsed)) throw new Error(`Cannot read ${name}: expected a JSON array`);
    for (const raw of parsed) {
      for (const key of ["id", "file", "find", "replace"]) {
        if (typeof raw?.[key] !== "string") {
          throw new Error(`Cannot read ${name}: entry ${JSON.stringify(raw)} lacks "${key}"`);
        }
      }
      if (seen.has(raw.id)) throw new Error(`Cannot read ${name}: duplicate id ${raw.id}`);
      seen.add(raw.id);
      mutants.push({ ...raw, list: name });
    }
  }
  return mutants;
}

/** Applies `mutant` to `text`; null when `find` does not occur exactly once (STALE). */
export function applyMutant(text: string, mutant: Pick<Mutant, "find" | "replace">): string | null {
  const at = text.indexOf(mutant.find);
  if (at < 0 || text.indexOf(mutant.find, at + 1) >= 0) return null;
  return text.slice(0, at) + mutant.replace + text.slice(at + mutant.find.length);
}

async function git(args: string[]): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd: ROOT, stdout: "piped" }).output();
  if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

/** Copies tracked (and new, unignored) files of the working tree; links node_modules. */
async function copyRepo(): Promise<string> {
  const target = await Deno.makeTempDir({ prefix: "strand_mutants_" });
  const files = (await git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]))
    .split("\0").filter((f) => f.length > 0);
  for (const file of files) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(`${ROOT}${file}`);
    } catch {
      continue; // deleted in the working tree
    }
    if (!info.isFile) continue;
    const slash = file.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(`${target}/${file.slice(0, slash)}`, { recursive: true });
    await Deno.copyFile(`${ROOT}${file}`, `${target}/${file}`);
  }
  try {
    await Deno.symlink(`${ROOT}node_modules`, `${target}/node_modules`);
  } catch {
    // no node_modules: deno resolves npm packages itself
  }
  return target;
}

interface Run {
  readonly success: boolean;
  readonly output: string;
  readonly timedOut: boolean;
}

async function run(cwd: string, args: string[], timeoutMs: number): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    success: out.success,
    output: decoder.decode(out.stdout) + decoder.decode(out.stderr),
    timedOut,
  };
}

/**
 * Test files named in the FAILURES section of `deno test` output, or, when the run was cut
 * short (a timeout: no FAILURES section yet), in the `./file => name ... FAILED` lines that
 * `--parallel` prints as each test ends.
 */
export function failedFiles(output: string): string[] {
  const section = output.slice(output.lastIndexOf("FAILURES"));
  const files = new Set<string>();
  for (const match of section.matchAll(/=> \.\/(\S+?):\d+:\d+/g)) files.add(match[1] as string);
  if (files.size === 0) {
    for (const match of output.matchAll(/^\.\/(\S+?) => .* \.\.\. FAILED\b/gm)) {
      files.add(match[1] as string);
    }
  }
  // A module that does not even load (type error, syntax error) fails before any test runs.
  if (files.size === 0 && /error: /.test(output)) files.add("(does not load)");
  return [...files];
}

/** The smallest seed a sweep's output reports as failing. */
export function firstFailingSeed(output: string): number | null {
  let first: number | null = null;
  for (const match of output.matchAll(/FAIL\b.*?\bseed=(\d+)/g)) {
    const seed = Number(match[1]);
    if (first === null || seed < first) first = seed;
  }
  return first;
}

interface Settings {
  readonly seeds: number;
  readonly runTests: boolean;
  readonly runSeeds: boolean;
  readonly timeoutMs: number;
}

async function measure(copy: string, mutant: Mutant, settings: Settings): Promise<Outcome> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const area = AREAS[areaOf(mutant)];
  const path = `${copy}/${mutant.file}`;
  let original: string;
  try {
    original = await Deno.readTextFile(path);
  } catch {
    return {
      mutant,
      status: "STALE",
      caughtBy: [],
      firstSeed: null,
      seconds: 0,
      detail: "no file",
    };
  }
  const mutated = applyMutant(original, mutant);
  if (mutated === null || area === undefined) {
    const detail = area === undefined ? `unknown area ${areaOf(mutant)}` : "find not unique";
    return { mutant, status: "STALE", caughtBy: [], firstSeed: null, seconds: 0, detail };
  }
  await Deno.writeTextFile(path, mutated);
  try {
    let caughtBy: string[] = [];
    let detail = "";
    if (settings.runTests) {
      const tests = await run(
        copy,
        ["test", "-A", "--parallel", "--fail-fast", ...area.tests],
        settings.timeoutMs,
      );
      // A test that failed before the time ran out caught it; a bare timeout is reported.
      if (tests.timedOut) caughtBy = failedFiles(tests.output);
      if (tests.timedOut && caughtBy.length === 0) caughtBy = ["(timeout)"];
      else if (!tests.success && caughtBy.length === 0) caughtBy = failedFiles(tests.output);
      if (!tests.success && caughtBy.length === 0) caughtBy = ["(failed)"];
      detail = tests.success ? "" : lastError(tests.output);
    }
    let firstSeed: number | null = null;
    if (settings.runSeeds && area.sim !== undefined) {
      const args = area.sim.map((a) => a.replace("{seeds}", String(settings.seeds)));
      const sweep = await run(copy, ["run", "-A", ...args], settings.timeoutMs);
      firstSeed = firstFailingSeed(sweep.output);
      if (sweep.timedOut && firstSeed === null) detail = "seed sweep timed out";
      if (!sweep.success && firstSeed === null && detail === "") detail = lastError(sweep.output);
    }
    const caught = caughtBy.length > 0 || firstSeed !== null;
    const status = caught ? "CAUGHT" : "SURVIVED";
    return { mutant, status, caughtBy, firstSeed, seconds: seconds(), detail };
  } finally {
    await Deno.writeTextFile(path, original);
  }
}

function lastError(output: string): string {
  const lines = output.split("\n").filter((l) => /error|FAIL|violation|assert/i.test(l));
  return (lines[0] ?? "").trim().slice(0, 160);
}

function argument(name: string): string | undefined {
  const index = Deno.args.indexOf(`--${name}`);
  return index >= 0 ? Deno.args[index + 1] : undefined;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function row(outcome: Outcome, seeds: number): string {
  const seed = outcome.firstSeed !== null
    ? String(outcome.firstSeed)
    : outcome.status === "STALE"
    ? "-"
    : outcome.detail === "seed sweep timed out"
    ? "timeout"
    : `>${seeds}`;
  return [
    pad(outcome.mutant.id, 34),
    pad(outcome.status, 9),
    pad(outcome.caughtBy.join(",") || "-", 44),
    pad(seed, 8),
    `${outcome.seconds}s`,
  ].join(" ");
}

async function main(): Promise<number> {
  const only = argument("only");
  const area = argument("area");
  const seeds = Number(argument("seeds") ?? "200");
  const mutants = loadMutants().filter((m) =>
    (only === undefined || m.id === only) && (area === undefined || areaOf(m) === area)
  );
  if (Deno.args.includes("--list")) {
    for (const m of mutants) console.log(`${pad(m.id, 34)} ${pad(areaOf(m), 10)} ${m.file}`);
    return 0;
  }
  if (mutants.length === 0) {
    console.error("No mutant matches: see --list");
    return 2;
  }
  const settings: Settings = {
    seeds,
    runTests: !Deno.args.includes("--no-tests"),
    runSeeds: !Deno.args.includes("--no-seeds"),
    timeoutMs: Number(argument("timeout-s") ?? "300") * 1000,
  };
  const copy = await copyRepo();
  // Interrupted: remove the copy (the working tree was never touched).
  const cleanUp = () => {
    Deno.removeSync(copy, { recursive: true });
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", cleanUp);
  Deno.addSignalListener("SIGTERM", cleanUp);
  const outcomes: Outcome[] = [];
  console.log(`${pad("mutant", 34)} ${pad("status", 9)} ${pad("caught by", 44)} first seed  time`);
  try {
    for (const mutant of mutants) {
      const outcome = await measure(copy, mutant, settings);
      outcomes.push(outcome);
      console.log(row(outcome, seeds));
      if (outcome.status === "SURVIVED") {
        console.log(`    note: ${mutant.note ?? "(none: add a test or explain why)"}`);
      }
      if (outcome.status === "STALE") console.log(`    stale: ${outcome.detail}`);
    }
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
  const count = (s: Outcome["status"]) => outcomes.filter((o) => o.status === s).length;
  console.log(
    `${count("CAUGHT")} caught, ${count("SURVIVED")} survived, ${
      count("STALE")
    } stale of ${outcomes.length}`,
  );
  const unexplained = outcomes.filter((o) =>
    o.status === "SURVIVED" && !/survives/i.test(o.mutant.note ?? "")
  );
  return unexplained.length === 0 && count("STALE") === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
