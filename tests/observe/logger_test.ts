import {
  createLogger,
  type LogFormat,
  type LogLevel,
  ObserveError,
  parseLogFormat,
  parseLogLevel,
} from "../../observe/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const epochMs = Date.UTC(2026, 10, 28, 1, 2, 3, 456);

function capture(level: LogLevel, format: LogFormat = "json") {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    format,
    write: (line) => lines.push(line),
    nowMs: () => epochMs,
  });
  return { logger, lines };
}

Deno.test("json lines carry time, level, msg first, then the fields", () => {
  const { logger, lines } = capture("debug");
  logger.info("node started", { rpcPort: 8400, voters: ["n1", "n2"] });
  assertEquals(lines.length, 1);
  const parsed = JSON.parse(lines[0]!);
  assertEquals(Object.keys(parsed), ["time", "level", "msg", "rpcPort", "voters"]);
  assertEquals(parsed, {
    time: "2026-11-28T01:02:03.456Z",
    level: "info",
    msg: "node started",
    rpcPort: 8400,
    voters: ["n1", "n2"],
  });
});

Deno.test("lines below the level are dropped and enabled() agrees", () => {
  const { logger, lines } = capture("warn");
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  assertEquals(lines.map((line) => JSON.parse(line).level), ["warn", "error"]);
  assertEquals([logger.enabled("info"), logger.enabled("warn")], [false, true]);
  assertEquals(logger.level, "warn");
});

Deno.test("a child binds fields; call fields win; reserved names are prefixed", () => {
  const { logger, lines } = capture("info");
  const child = logger.child({ node: "n1", area: "raft" }).child({ term: 3 });
  child.info("elected", { area: "raft.driver", msg: "sneaky", level: "x" });
  logger.info("parent unchanged");
  const first = JSON.parse(lines[0]!);
  assertEquals(first.node, "n1");
  assertEquals(first.term, 3);
  assertEquals(first.area, "raft.driver");
  assertEquals([first.msg, first.level, first["field.msg"], first["field.level"]], [
    "elected",
    "info",
    "sneaky",
    "x",
  ]);
  assertEquals(Object.keys(JSON.parse(lines[1]!)), ["time", "level", "msg"]);
});

Deno.test("awkward field values still give one valid JSON line", () => {
  const { logger, lines } = capture("info");
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const error = new ObserveError("INVALID_ARGUMENT", "Cannot do it", { cause: new Error("disk") });
  logger.error("boom", {
    error,
    cyclic,
    big: 12n,
    bytes: new Uint8Array(7),
    nan: NaN,
    missing: undefined,
    when: new Date(epochMs),
  });
  const parsed = JSON.parse(lines[0]!);
  assertEquals(parsed.error, {
    name: "ObserveError",
    message: "Cannot do it",
    code: "INVALID_ARGUMENT",
    cause: { name: "Error", message: "disk" },
  });
  assertEquals(parsed.cyclic, { name: "loop", self: "[cycle]" });
  assertEquals([parsed.big, parsed.bytes, parsed.nan, parsed.missing], [
    "12",
    "[7 bytes]",
    "NaN",
    null,
  ]);
  assertEquals(parsed.when, "2026-11-28T01:02:03.456Z");
});

Deno.test("text format is one readable line with quoted values where needed", () => {
  const { logger, lines } = capture("debug", "text");
  logger.warn("slow request", { method: "Produce", note: "took a while", durationMs: 1500 });
  assertEquals(
    lines[0],
    '2026-11-28T01:02:03.456Z WARN  slow request method=Produce note="took a while" durationMs=1500',
  );
});

Deno.test("a failing sink never throws into the caller", () => {
  const logger = createLogger({
    format: "json",
    write: () => {
      throw new Error("stderr closed");
    },
  });
  logger.error("still fine");
});

Deno.test("parseLogLevel and parseLogFormat accept known values and explain the rest", () => {
  assertEquals(parseLogLevel("DEBUG"), "debug");
  assertEquals(parseLogFormat("text"), "text");
  const error = assertThrows(
    () => parseLogLevel("loud"),
    /Cannot parse log level "loud": expected one of debug, info, warn, error/,
  );
  assert(error instanceof ObserveError && error.code === "INVALID_ARGUMENT");
  assertThrows(() => parseLogFormat("xml"), /Cannot parse log format "xml"/);
});

Deno.test("the default sink writes JSON lines to stderr when it is not a terminal", async () => {
  const script = `import { createLogger } from ${
    JSON.stringify(new URL("../../observe/mod.ts", import.meta.url).href)
  };
createLogger({ level: "debug" }).child({ node: "n1" }).debug("hello", { n: 1 });`;
  const command = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../deno.json", import.meta.url).pathname, script],
    stdout: "piped",
    stderr: "piped",
  });
  const output = await command.output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  assertEquals(new TextDecoder().decode(output.stdout), "");
  const lines = new TextDecoder().decode(output.stderr).trim().split("\n");
  assertEquals(lines.length, 1);
  const parsed = JSON.parse(lines[0]!);
  assertEquals([parsed.level, parsed.msg, parsed.node, parsed.n], ["debug", "hello", "n1", 1]);
  assert(!Number.isNaN(Date.parse(parsed.time)), "time is an ISO date");
});
