/**
 * `deno task bench service`: the gRPC service end to end, client and server in separate
 * processes, next to the no-op ceiling of the same stack (grpc-js + our protobuf codecs, a
 * server that answers without touching the log) measured in the same run, so figures read as
 * ratios on a noisy shared machine.
 *
 * Prints a table and one JSON line per figure:
 * `{"name":"service.produce.unary.c64.100B","value":5800,"unit":"rpc/s"}`.
 * Flags: `--secs=N` per case (default 3), `--fsync=always|interval=…|never` (default always),
 * `--rounds=N` paired rounds behind each ratio (default 5; the ratio is their median),
 * `--only=unary,stream,producer,consume,tail,runtime,stalled` to run some groups
 * (`producer`: the same cases with and without a producer id, the exactly-once path's cost),
 * `--samples=N` measured records of the tail-latency case (default 5000), `--v8-flags=…` for every process started
 * (default: the flags Strand ships with, deno.json "start"; `--v8-flags=` for V8's defaults).
 * Internal modes (one process each): `--noop-server`, `--client=<case> --addr=<host:port>`.
 * @module
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall } from "@grpc/grpc-js";
import { LogClient } from "../client/mod.ts";
import { taskV8Flags, v8FlagArgs } from "./_shipped_runtime.ts";
import { logService, type ProduceRequest, type ProduceResponse } from "../proto/mod.ts";

const flag = (name: string, fallback: string) =>
  Deno.args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SECS = Number(flag("secs", "3"));
const FSYNC = flag("fsync", "always");
/** Groups to run (`--only=unary,stream,producer,consume,tail,runtime,stalled`; default all). */
const ONLY = flag("only", "").split(",").filter((group) => group !== "");
const wanted = (group: string) => ONLY.length === 0 || ONLY.includes(group);
/** Paired rounds (no-op, then service) behind each ratio. */
const ROUNDS = Number(flag("rounds", "5"));
/**
 * V8 flags of every process the bench starts (`--v8-flags=…`; empty for V8's defaults);
 * default: the flags Strand ships with (deno.json "start").
 */
const V8_FLAGS = flag("v8-flags", taskV8Flags("start"));
const V8_ARGS = v8FlagArgs(V8_FLAGS);
/** Measured records of the tail-latency case. */
const SAMPLES = Number(flag("samples", "5000"));
/** Records produced and consumed before the tail-latency case measures. */
const LATENCY_WARMUP = 500;
const self = new URL(import.meta.url).pathname;
const mainPath = new URL("../main.ts", import.meta.url).pathname;

interface Result {
  /** Operations per second (records, RPCs or messages, per case). */
  rate: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Latency: delivery to the tailing consumer minus the producer's acknowledgement. */
  afterAckP99Ms?: number;
  /** Latency: the producer's acknowledgement minus its call (the produce RPC alone). */
  ackP99Ms?: number;
}

// ---- the no-op ceiling server ------------------------------------------------------------

async function noopServer(): Promise<void> {
  let offset = 0;
  const server = new Server();
  server.addService(logService, {
    produce(call: ServerUnaryCall<ProduceRequest, ProduceResponse>, done: sendUnaryData<unknown>) {
      const count = call.request.records?.length || 1;
      done(null, { offset, count });
      offset += count;
    },
    produceStream(call: ServerDuplexStream<ProduceRequest, ProduceResponse>) {
      call.on("data", (request: ProduceRequest) => {
        const count = request.records?.length || 1;
        call.write({ offset, count });
        offset += count;
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    })
  );
  console.log(`gRPC  127.0.0.1:${port}`);
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", () => resolve()));
  server.forceShutdown();
}

// ---- client cases (each in its own process) ----------------------------------------------

const value100 = new Uint8Array(100).fill(97);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/**
 * `concurrency` callers producing one 100 B record at a time; with `producers`, each caller is
 * a producer of its own (a random id, sequences 1, 2, …): the exactly-once path.
 */
async function unary(client: LogClient, concurrency: number, producers = false): Promise<Result> {
  const lanes = Array.from({ length: concurrency }, () => ({
    producerId: crypto.randomUUID(),
    sequence: 0,
  }));
  const produce = (lane: number) => {
    if (!producers) return client.produce(value100);
    const producer = lanes[lane]!;
    producer.sequence++;
    return client.produce(value100, producer);
  };
  for (let i = 0; i < 200; i++) await produce(i % concurrency); // warm-up
  let done = 0;
  const latenciesMs: number[] = [];
  const end = performance.now() + SECS * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, lane) => {
    while (performance.now() < end) {
      const called = performance.now();
      await produce(lane);
      latenciesMs.push(performance.now() - called);
      done++;
    }
  }));
  const sorted = latenciesMs.toSorted((a, b) => a - b);
  return {
    rate: done / ((performance.now() - started) / 1000),
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
  };
}

/**
 * ProduceStream with `perMessage` records per request and `window` requests in flight; with
 * `producers`, every request is a batch of one producer (appended alone, not coalesced).
 */
async function stream(
  client: LogClient,
  perMessage: number,
  window: number,
  producers = false,
): Promise<Result> {
  const values = Array.from({ length: perMessage }, () => value100);
  const stream = client.produceStream();
  const lane = { producerId: crypto.randomUUID(), sequence: 0 };
  const producer = {
    send: (batch: Uint8Array[]) =>
      producers ? stream.send(batch, { ...lane, sequence: ++lane.sequence }) : stream.send(batch),
    end: () => stream.end(),
  };
  const end = performance.now() + SECS * 1000;
  const started = performance.now();
  let records = 0;
  let inFlight = 0;
  let wake = () => {};
  const landed = () => {
    records += perMessage;
    inFlight--;
    wake();
  };
  while (performance.now() < end) {
    for (; inFlight < window; inFlight++) producer.send(values).then(landed);
    await new Promise<void>((resolve) => wake = resolve); // one response is back
  }
  for (let i = 0; i < 100_000 && inFlight > 0; i++) {
    await new Promise<void>((resolve) => wake = resolve);
  }
  producer.end();
  return { rate: records / ((performance.now() - started) / 1000) };
}

async function consume(client: LogClient, batchRecordsMax: number): Promise<Result> {
  const limit = 200_000;
  await holdAtLeast(client, limit);
  const started = performance.now();
  let records = 0;
  for await (const _ of client.consumeStream(0, { limit, batchRecordsMax })) {
    if (++records >= limit || performance.now() - started > SECS * 1000) break;
  }
  return { rate: records / ((performance.now() - started) / 1000) };
}

/** Appends 100 B records until the log holds at least `count` (the consume cases read them). */
async function holdAtLeast(client: LogClient, count: number): Promise<void> {
  const batch = Array.from({ length: 500 }, () => value100);
  let end = 0;
  while (end < count) end = (await client.produceBatch(batch)).offset + batch.length;
}

/**
 * A tailing consumer; the producer writes one timestamped record at a time. Records with a
 * zero timestamp (the first, which shows the stream is up, and `LATENCY_WARMUP` more that let
 * the fresh client process reach compiled code) are not measured.
 */
async function latency(client: LogClient, address: string): Promise<Result> {
  const tail = new LogClient(address);
  const unmeasured = new Uint8Array(100);
  const from = await client.produce(unmeasured);
  const latenciesMs: number[] = [];
  const deliveredAtMs = new Map<number, number>();
  const ackedAtMs = new Map<number, number>();
  const ackMs: number[] = [];
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 8);
  let tailing = () => {};
  const ready = new Promise<void>((resolve) => tailing = resolve);
  const reader = (async () => {
    for await (const record of tail.consumeStream(from)) {
      const sentAt = view(record.value).getFloat64(0);
      if (sentAt === 0) { // the stream is up, or a warm-up record
        tailing();
        continue;
      }
      const now = performance.now();
      latenciesMs.push(now - sentAt);
      deliveredAtMs.set(record.offset, now);
      if (latenciesMs.length >= SAMPLES) break;
    }
  })();
  await ready;
  for (let i = 0; i < LATENCY_WARMUP; i++) await client.produce(unmeasured);
  const end = performance.now() + SECS * 1000;
  for (let i = 0; i < SAMPLES && performance.now() < end; i++) {
    const value = new Uint8Array(100);
    view(value).setFloat64(0, performance.now());
    const sentAt = view(value).getFloat64(0);
    const offset = await client.produce(value);
    const now = performance.now();
    ackedAtMs.set(offset, now);
    ackMs.push(now - sentAt);
  }
  await Promise.race([reader, new Promise((resolve) => setTimeout(resolve, 2000))]);
  tail.close();
  const sorted = latenciesMs.toSorted((a, b) => a - b);
  const afterAck = [...deliveredAtMs].map(([offset, at]) =>
    Math.max(0, at - ackedAtMs.get(offset)!)
  )
    .filter((ms) => !Number.isNaN(ms)).toSorted((a, b) => a - b);
  return {
    rate: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    afterAckP99Ms: quantile(afterAck, 0.99),
    ackP99Ms: quantile(ackMs.toSorted((a, b) => a - b), 0.99),
  };
}

async function runClientCase(name: string, address: string): Promise<Result> {
  const client = new LogClient(address);
  await client.waitForReady(10_000);
  try {
    switch (name) {
      case "unary.c1":
        return await unary(client, 1);
      case "unary.c64":
        return await unary(client, 64);
      case "unary.c64.producers":
        return await unary(client, 64, true);
      case "stream.1":
        return await stream(client, 1, 1000);
      case "stream.500":
        return await stream(client, 500, 16);
      case "stream.500.producer":
        return await stream(client, 500, 16, true);
      case "consume.1":
        return await consume(client, 0);
      case "consume.500":
        return await consume(client, 500);
      case "latency":
        return await latency(client, address);
      case "stall":
        return await stall(client);
    }
    throw new Error(`Unknown bench case ${name}`);
  } finally {
    client.close();
  }
}

// ---- orchestration -----------------------------------------------------------------------

interface Process {
  address: string;
  pid: number;
  stop(): Promise<void>;
}

async function spawnServer(args: string[], runtimeArgs = V8_ARGS): Promise<Process> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...runtimeArgs, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (let i = 0; i < 1000 && !/gRPC\s+\S+/.test(text); i++) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before listening: ${text}`);
    text += value;
  }
  const address = /gRPC\s+(\S+)/.exec(text)![1]!;
  const drained = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe flowing */ }
  })();
  return {
    address,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

async function clientCase(name: string, address: string): Promise<Result> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...V8_ARGS,
      self,
      `--client=${name}`,
      `--addr=${address}`,
      `--secs=${SECS}`,
      `--samples=${SAMPLES}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  if (!output.success) throw new Error(`bench case ${name} failed: ${lines.join("\n")}`);
  return JSON.parse(lines.at(-1)!);
}

const figures: { name: string; value: number; unit: string; rounds?: number[] }[] = [];

function report(name: string, value: number, unit: string, rounds?: number[]): void {
  const round = (n: number) => Math.abs(n) >= 100 ? Math.round(n) : Number(n.toFixed(3));
  const rounded = round(value);
  const spread = rounds ? { rounds: rounds.map(round) } : {};
  figures.push({ name, value: rounded, unit, ...spread });
  const note = rounds ? `  (median of rounds ${rounds.map(round).join(", ")})` : "";
  console.log(`${name.padEnd(48)} ${String(rounded).padStart(12)} ${unit}${note}`);
}

/** A `serve` process on a fresh data dir; `stop` also removes the dir. */
async function spawnService(runtimeArgs = V8_ARGS): Promise<Process> {
  const dataDir = await Deno.makeTempDir({ prefix: "strand-service-bench-" });
  const service = await spawnServer([
    mainPath,
    "serve",
    ...["--data-dir", dataDir, "--rpc-port", "0", "--http-port", "0", "--fsync", FSYNC],
    ...["--log-level", "error"],
  ], runtimeArgs).catch(async (error) => {
    await Deno.remove(dataDir, { recursive: true });
    throw error;
  });
  return {
    ...service,
    async stop() {
      await service.stop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

async function withServers(
  body: (noop: string, service: string, servicePid: number) => Promise<void>,
): Promise<void> {
  const noop = await spawnServer([self, "--noop-server"]);
  const service = await spawnService().catch(async (error) => {
    await noop.stop();
    throw error;
  });
  try {
    await body(noop.address, service.address, service.pid);
  } finally {
    await Promise.all([noop.stop(), service.stop()]);
  }
}

/**
 * Runs `name` against `baseline` and `measured` alternately, `rounds` times each, so both see
 * the same background load; returns the mean rates and the median of the per-round ratios
 * measured / baseline (a round when another process took the CPU from one side skews the mean
 * ratio, not the median).
 */
async function paired(
  name: string,
  addresses: { baseline: string; measured: string },
  rounds: number,
): Promise<{ baseline: number; measured: number; ratio: number; ratios: number[] }> {
  let baseline = 0;
  let measured = 0;
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const base = (await clientCase(name, addresses.baseline)).rate;
    const rate = (await clientCase(name, addresses.measured)).rate;
    baseline += base / rounds;
    measured += rate / rounds;
    ratios.push(rate / base);
  }
  return { baseline, measured, ratio: median(ratios), ratios };
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The shipped V8 flags against V8's defaults, both `serve` processes measured alternately by
 * the same client: throughput as ratios shipped / default, tail latency p99 side by side.
 */
async function compareRuntime(shipped: string): Promise<void> {
  const defaults = await spawnService([]);
  try {
    const addresses = { baseline: defaults.address, measured: shipped };
    for (const name of ["unary.c64", "stream.1"]) {
      const pair = await paired(name, addresses, ROUNDS);
      report(`service.runtime.${name}.ratio_shipped_to_default`, pair.ratio, "ratio", pair.ratios);
    }
    const p99 = { defaults: [] as number[], shipped: [] as number[] };
    for (let round = 0; round < 3; round++) {
      p99.defaults.push((await clientCase("latency", defaults.address)).p99Ms ?? NaN);
      p99.shipped.push((await clientCase("latency", shipped)).p99Ms ?? NaN);
    }
    report("service.runtime.tail.p99.default_v8", median(p99.defaults), "ms", p99.defaults);
    report("service.runtime.tail.p99.shipped", median(p99.shipped), "ms", p99.shipped);
  } finally {
    await defaults.stop();
  }
}

/**
 * The exactly-once path's cost: the same case with and without a producer id on every batch,
 * against the same `serve` process, alternately (ratio = with / without, median of rounds).
 */
async function measureProducers(service: string): Promise<void> {
  const tag = FSYNC === "always" ? "durable" : FSYNC;
  const cases = [["unary.c64", "unary.c64.producers", "rpc/s"], [
    "stream.500",
    "stream.500.producer",
    "records/s",
  ]] as const;
  for (const [plain, withProducer, unit] of cases) {
    const rates = { plain: [] as number[], producer: [] as number[] };
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const base = (await clientCase(plain, service)).rate;
      const rate = (await clientCase(withProducer, service)).rate;
      rates.plain.push(base);
      rates.producer.push(rate);
      ratios.push(rate / base);
    }
    report(`service.produce.${plain}.100B.${tag}`, median(rates.plain), unit, rates.plain);
    report(
      `service.produce.${withProducer}.100B.${tag}`,
      median(rates.producer),
      unit,
      rates.producer,
    );
    report(`service.produce.${plain}.ratio_producer_to_none`, median(ratios), "ratio", ratios);
  }
}

/** Each ratio pairs the service with the no-op ceiling measured alternately with it. */
async function measure(noop: string, service: string, servicePid: number): Promise<void> {
  const tag = FSYNC === "always" ? "durable" : FSYNC;
  const at = (name: string) => clientCase(name, service);
  if (wanted("unary")) {
    const unary = await paired("unary.c64", { baseline: noop, measured: service }, ROUNDS);
    report("service.noop.unary.c64.100B", unary.baseline, "rpc/s");
    report(`service.produce.unary.c64.100B.${tag}`, unary.measured, "rpc/s");
    report("service.produce.unary.c64.ratio_to_noop", unary.ratio, "ratio", unary.ratios);
    const c1 = await at("unary.c1");
    report(`service.produce.unary.c1.100B.${tag}`, c1.rate, "rpc/s");
  }
  if (wanted("stream")) {
    const stream = await paired("stream.1", { baseline: noop, measured: service }, ROUNDS);
    report("service.noop.stream.100B", stream.baseline, "msgs/s");
    report(`service.produce.stream.100B.${tag}`, stream.measured, "msgs/s");
    report("service.produce.stream.ratio_to_noop", stream.ratio, "ratio", stream.ratios);
    report(`service.produce.batch500.100B.${tag}`, (await at("stream.500")).rate, "records/s");
  }
  if (wanted("producer")) await measureProducers(service);
  if (wanted("consume")) {
    report("service.consume.stream.100B", (await at("consume.1")).rate, "records/s");
    report("service.consume.stream.batch500.100B", (await at("consume.500")).rate, "records/s");
  }
  if (wanted("tail")) {
    // The stack's own floor: the same one-at-a-time unary call against the no-op server.
    const floor = await clientCase("unary.c1", noop);
    report("service.noop.unary.c1.p99", floor.p99Ms ?? NaN, "ms");
    const latency = await at("latency");
    report(`service.tail.latency.p50.${tag}`, latency.p50Ms ?? NaN, "ms");
    report(`service.tail.latency.p99.${tag}`, latency.p99Ms ?? NaN, "ms");
    report("service.tail.produce_ack.p99", latency.ackP99Ms ?? NaN, "ms");
    report("service.tail.after_ack.p99", latency.afterAckP99Ms ?? NaN, "ms");
  }
  if (wanted("runtime")) await compareRuntime(service);
  if (wanted("stalled")) {
    const stalled = await stalledConsumer(service, servicePid);
    report("service.consume.stalled.log_behind_mb", stalled.behindMb, "MB");
    report("service.consume.stalled.server_rss_growth_mb", stalled.growthMb, "MB");
  }
}

function residentMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

/**
 * A consumer that stops reading: 64 MiB are appended, a client process opens ConsumeStream
 * at their start, takes one record and is frozen (SIGSTOP). The figure is how much the
 * server's resident memory grows meanwhile (the most over 2 s): bounded flow control keeps it
 * near the window + 1 MiB backlog per stream, where unbounded queueing would hold all 64 MiB.
 */
async function stalledConsumer(address: string, pid: number): Promise<{
  behindMb: number;
  growthMb: number;
}> {
  const client = new LogClient(address);
  const record = new Uint8Array(1024).fill(98);
  let from = -1;
  for (let i = 0; i < 64; i++) {
    const { offset } = await client.produceBatch(Array.from({ length: 1024 }, () => record));
    if (from < 0) from = offset;
  }
  client.close();
  const before = residentMb(pid);
  const consumer = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--client=stall", `--addr=${address}`, `--from=${from}`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = consumer.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("READY")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stalled consumer exited early: ${text}`);
    text += value;
  }
  consumer.kill("SIGSTOP");
  let peak = before;
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100)); // sampling, not synchronisation
    peak = Math.max(peak, residentMb(pid));
  }
  consumer.kill("SIGKILL");
  await consumer.status;
  await reader.cancel();
  return { behindMb: 64, growthMb: peak - before };
}

/** The stalled consumer's side: one record from `--from`, then it stops reading. */
async function stall(client: LogClient): Promise<Result> {
  const stream = client.consumeStream(Number(flag("from", "0")));
  await stream.next();
  console.log("READY");
  await new Promise(() => {}); // frozen by the orchestrator, then killed
  return { rate: 0 };
}

if (import.meta.main) {
  const clientName = flag("client", "");
  if (Deno.args.includes("--noop-server")) {
    await noopServer();
  } else if (clientName !== "") {
    console.log(JSON.stringify(await runClientCase(clientName, flag("addr", ""))));
    Deno.exit(0); // no graceful channel close (see tests/e2e/churn_test.ts)
  } else {
    console.log(`# V8 flags of every process: ${V8_FLAGS === "" ? "(V8 defaults)" : V8_FLAGS}`);
    console.log(`${"figure".padEnd(48)} ${"value".padStart(12)} unit`);
    await withServers(measure);
    for (const figure of figures) console.log(JSON.stringify(figure));
  }
}
