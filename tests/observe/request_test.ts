import {
  createLogger,
  defaultRouteName,
  Metrics,
  RequestObserver,
  statusLabel,
} from "../../observe/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { parseExposition, valueOf } from "./_exposition.ts";

function setup() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    format: "json",
    write: (line) => lines.push(JSON.parse(line)),
  });
  const metrics = new Metrics();
  let clockMs = 1000;
  const observer = new RequestObserver({
    logger,
    metrics,
    slowRequestSeconds: 0.5,
    nowMs: () => clockMs,
  });
  const advance = (ms: number) => {
    clockMs += ms;
  };
  const scrape = async () => parseExposition(await metrics.exposition());
  return { lines, observer, advance, scrape };
}

Deno.test("a successful request is counted, timed and logged at debug with the documented fields", async () => {
  const { lines, observer, advance, scrape } = setup();
  const request = observer.start({ transport: "grpc", method: "Produce", subject: "CN=alice" });
  advance(12.5);
  request.end({ status: 0 });
  request.end({ status: 13 });
  const labels = { transport: "grpc", method: "Produce", status: "OK" };
  const exposition = await scrape();
  assertEquals(valueOf(exposition, "strand_requests_total", labels), 1);
  assertEquals(valueOf(exposition, "strand_request_duration_seconds_sum", labels), 0.0125);
  assertEquals(valueOf(exposition, "strand_requests_total", { status: "INTERNAL" }), 0);
  assertEquals(lines.length, 1);
  const { time, ...rest } = lines[0]!;
  assert(typeof time === "string" && !Number.isNaN(Date.parse(time)), "time is ISO 8601");
  assertEquals(rest, {
    level: "debug",
    msg: "request",
    transport: "grpc",
    method: "Produce",
    subject: "CN=alice",
    status: "OK",
    durationMs: 12.5,
  });
});

Deno.test("a server failure is counted under its status and logged at warn with the error", async () => {
  const { lines, observer, scrape } = setup();
  const request = observer.start({ transport: "http", method: "POST /v1/records" });
  request.end({ status: 500, error: new Error("Cannot append: disk full") });
  const clientError = observer.start({ transport: "http", method: "GET /v1/records/{offset}" });
  clientError.end({ status: 404 });
  const exposition = await scrape();
  assertEquals(
    valueOf(exposition, "strand_requests_total", { method: "POST /v1/records", status: "500" }),
    1,
  );
  assertEquals(valueOf(exposition, "strand_requests_total", { status: "404" }), 1);
  const warnings = lines.filter((line) => line.level === "warn");
  assertEquals(warnings.length, 1, "a 404 is the client's problem, not a warning");
  assertEquals(warnings[0]!.msg, "request failed");
  assertEquals(warnings[0]!.error, { name: "Error", message: "Cannot append: disk full" });
});

Deno.test("slow requests are warned about, streams are not, and streams are counted while open", async () => {
  const { lines, observer, advance, scrape } = setup();
  const slow = observer.start({ transport: "grpc", method: "Consume" });
  const stream = observer.start({ transport: "grpc", method: "ConsumeStream", stream: true });
  const streamLabels = { transport: "grpc", method: "ConsumeStream" };
  assertEquals(valueOf(await scrape(), "strand_open_streams", streamLabels), 1);
  advance(600);
  slow.end({ status: "OK" });
  stream.end({ status: "CANCELLED" });
  assertEquals(valueOf(await scrape(), "strand_open_streams", streamLabels), 0);
  const warnings = lines.filter((line) => line.level === "warn");
  assertEquals(warnings.map((line) => [line.msg, line.method]), [["slow request", "Consume"]]);
});

Deno.test("record() takes the server's after-the-fact events", async () => {
  const { lines, observer, scrape } = setup();
  observer.record({ transport: "grpc", method: "Consume", status: "OUT_OF_RANGE", durationMs: 3 });
  observer.record({ transport: "grpc", method: "ConsumeStream", status: "OK", durationMs: 60_000 });
  observer.record({ transport: "http", method: "POST /", status: "200", durationMs: 700 });
  observer.record({ transport: "grpc", method: "Produce", status: "INTERNAL", durationMs: 1 });
  const exposition = await scrape();
  assertEquals(
    valueOf(exposition, "strand_requests_total", { method: "Consume", status: "OUT_OF_RANGE" }),
    1,
  );
  assertEquals(
    valueOf(exposition, "strand_request_duration_seconds_sum", { method: "ConsumeStream" }),
    60,
  );
  assertEquals(
    lines.filter((line) => line.level === "warn").map((line) => [line.msg, line.method]),
    [["slow request", "POST /"], ["request failed", "Produce"]],
    "a long stream is not slow; a client error is not a warning",
  );
  assertEquals(lines.filter((line) => line.msg === "request").length, 4);
});

Deno.test("statusLabel names gRPC codes and keeps HTTP codes numeric", () => {
  assertEquals(
    [
      statusLabel("grpc", 0),
      statusLabel("grpc", 5),
      statusLabel("grpc", 99),
      statusLabel("http", 503),
    ],
    ["OK", "NOT_FOUND", "99", "503"],
  );
});

Deno.test("at info level only failed and slow requests are logged, still with all fields", () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "info",
    format: "json",
    write: (line) => lines.push(JSON.parse(line)),
  });
  const observer = new RequestObserver({ logger, metrics: new Metrics(), slowRequestSeconds: 1 });
  observer.record({ transport: "grpc", method: "Produce", status: "OK", durationMs: 2 });
  observer.record({
    transport: "grpc",
    method: "Produce",
    status: "OK",
    durationMs: 1500,
    subject: "bob",
  });
  observer.record({ transport: "http", method: "POST /", status: 503, durationMs: 2 });
  assertEquals(lines.map((line) => [line.level, line.msg, line.status, line.subject]), [
    ["warn", "slow request", "OK", "bob"],
    ["warn", "request failed", "503", null],
  ]);
});

Deno.test("defaultRouteName keeps span names few: {offset} for numbers, one name for the rest", () => {
  assertEquals(
    [
      defaultRouteName("GET", "/v1/records/42"),
      defaultRouteName("GET", "/v1/records/42/x"),
      defaultRouteName("POST", "/"),
      defaultRouteName("GET", "/v2x/7a"),
      defaultRouteName("GET", "/metrics"),
    ],
    ["GET /v1/records/{offset}", "GET (unrouted)", "POST /", "GET (unrouted)", "GET /metrics"],
  );
  const names = new Set(
    Array.from({ length: 1000 }, (_, i) => defaultRouteName("GET", `/probe-${i}/${i}`)),
  );
  assertEquals([...names], ["GET (unrouted)"]);
});
