/**
 * The two streaming RPCs: ConsumeStream (replay, then tail; flow-controlled) and
 * ProduceStream (pipelined, answered in order, bounded in flight).
 * @module
 */
import type { ServerDuplexStream, ServerWritableStream } from "@grpc/grpc-js";
import {
  type ConsumeRequest,
  type ConsumeResponse,
  encodeConsumeResponse,
  encodeProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from "../proto/mod.ts";
import type { ServiceContext } from "./_context.ts";
import { outOfRange, serviceError, toServiceError } from "./_errors.ts";
import { produceResponse, producerOf, toRecordMessage, valuesOf } from "./_grpc_codec.ts";
import type { AppendAck, CommitLog, ProducerRef, ServedRecord } from "./_types.ts";
import { type BacklogLimits, sendWindowOf, type StreamSendWindow } from "./_h2_send_window.ts";
import { type RawMessageWriter, rawMessageWriterOf } from "./_grpc_raw_writer.ts";
import {
  isMalformed,
  malformedLogOf,
  produceStreamPath,
  refuseMalformed,
} from "./_grpc_malformed.ts";

/** Bytes read from the log per step of a consume stream (bounds server memory per stream). */
export const streamReadBytesMax = 256 * 1024;
/**
 * Bytes a connection may hold that the kernel has not taken before its streams stop, whatever
 * window the client granted (see _h2_send_window.ts). They go on once that is half this.
 */
export const clientBacklogBytesMax = 1024 * 1024;
/**
 * Bytes a stream may write beyond the HTTP/2 window its client granted before it stops. They
 * wait in the runtime's native HTTP/2 session, and Deno 2.8.3 does not free what is still
 * queued there when the connection closes: every stalled connection that went away kept that
 * much resident (see _h2_send_window.ts). Enough to have the next write ready when credit
 * comes (two raw writes); it goes on once that is half this.
 */
export const windowOverrunBytesMax = 128 * 1024;
/**
 * DATA bytes a connection may write beyond what its client has shown it read (an acknowledged
 * HTTP/2 PING; see _h2_send_window.ts) before its streams stop, whatever window it granted.
 * Without it a client that grants 2^31−1 bytes and stops reading gets what the kernel takes
 * (~4 MiB per connection). A PING goes out every `pingEveryBytes` (half this): one round trip
 * per 512 KiB, so a reading client is not held back unless its round trip is longer than
 * sending 512 KiB takes (1 MiB per round trip: 100 MiB/s at 10 ms). They go on once half this.
 */
export const unreadBytesMax = 1024 * 1024;
/** Where a stream stops for its client, and where it goes on. */
const pauseBeyond: BacklogLimits = {
  windowBytes: windowOverrunBytesMax,
  socketBytes: clientBacklogBytesMax,
  unacknowledgedBytes: unreadBytesMax,
};
const resumeWithin: BacklogLimits = {
  windowBytes: windowOverrunBytesMax / 2,
  socketBytes: clientBacklogBytesMax / 2,
  unacknowledgedBytes: unreadBytesMax / 2,
};
/** The gRPC length prefix of every message (compression flag + 4-byte length). */
const grpcPrefixBytes = 5;
/** Produce requests a stream may have appending at once before the server stops reading. */
export const produceInFlightMax = 1024;

type EventSource = {
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
};

/** Resolves on the first of `events` from `source`, or when `signal` aborts. */
export function firstEvent(
  source: EventSource,
  events: string[],
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      for (const event of events) source.off(event, done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    for (const event of events) source.once(event, done);
    signal.addEventListener("abort", done, { once: true });
  });
}

type ConsumeCall = ServerWritableStream<ConsumeRequest, ConsumeResponse>;

function nextBatch(
  ctx: ServiceContext,
  offset: number,
  wanted: number,
  bytesMax: number,
): ServedRecord[] {
  const first = ctx.log.firstOffset();
  if (offset < first) throw outOfRange(offset, first, ctx.log.nextOffset());
  if (offset >= ctx.log.nextOffset()) return [];
  return ctx.log.readFrom(offset, bytesMax).slice(0, wanted);
}

/**
 * Value bytes of the next read step: what the stream may still write before its client is
 * behind (at least one write), so that a stream that then waits has little or nothing of its
 * step left to drop and read again.
 */
function stepBytes(window: StreamSendWindow | null): number {
  if (window === null) return streamReadBytesMax;
  return Math.min(streamReadBytesMax, Math.max(rawWriteBytes, window.roomWithin(pauseBeyond)));
}

/** Waits until the client has read enough of what the stream wrote. */
async function waitForClient(
  ctx: ServiceContext,
  window: StreamSendWindow,
  signal: AbortSignal,
): Promise<void> {
  ctx.streamsWaitingForClient++;
  try {
    await window.waitWithin(resumeWithin, signal);
  } finally {
    ctx.streamsWaitingForClient--;
  }
}

/** Bytes of ConsumeStream messages gathered into one HTTP/2 write. */
export const rawWriteBytes = 64 * 1024;

/** The ConsumeStream message that starts at `records[at]` (built as it is sent). */
function consumeMessage(
  records: ServedRecord[],
  at: number,
  batchRecordsMax: number,
): ConsumeResponse {
  return batchRecordsMax > 0
    ? { records: records.slice(at, at + batchRecordsMax).map(toRecordMessage) }
    : { record: toRecordMessage(records[at]!) };
}

/** How a consume stream writes: grpc-js per message, or framed by us in few writes. */
interface ConsumeOutput {
  call: ConsumeCall;
  raw: RawMessageWriter | null;
  window: StreamSendWindow | null;
}

/** How a write left the stream: go on, stop (cancelled or gone), or wait for the client. */
type Flow = "go" | "stop" | "behind";

/**
 * After `bytes` went out: "behind" when the client is more than the bound behind (our account
 * of its HTTP/2 window, as the runtime does not report it; see `pauseBeyond`).
 */
function afterWrite(output: ConsumeOutput, bytes: number, signal: AbortSignal): Flow {
  const window = output.window;
  if (window) {
    window.wrote(bytes);
    if (!window.within(pauseBeyond)) return "behind";
  }
  return signal.aborted ? "stop" : "go";
}

/** What {@linkcode send} did: the records it wrote (a prefix), and how the stream goes on. */
interface Sent {
  records: number;
  flow: Flow;
}

/**
 * Writes `records` honouring flow control (the stream's own buffer, and the client's window),
 * and returns as soon as the client is behind: the records not written yet are the caller's
 * to read again, so a stream waiting for its client holds no log records (a read step's
 * values are views into the log's read-ahead buffers, up to 1 MiB each). Messages are encoded
 * here so the window account knows the exact DATA bytes.
 */
async function send(
  output: ConsumeOutput,
  records: ServedRecord[],
  batchRecordsMax: number,
  signal: AbortSignal,
): Promise<Sent> {
  const { call, raw } = output;
  const perMessage = Math.max(1, batchRecordsMax);
  const messages = Math.ceil(records.length / perMessage);
  const recordsIn = (count: number) => Math.min(records.length, count * perMessage);
  let gathered: Uint8Array[] = [];
  let gatheredBytes = 0;
  for (let i = 0; i < messages; i++) {
    if (signal.aborted) return { records: recordsIn(i - gathered.length), flow: "stop" };
    const bytes = encodeConsumeResponse(consumeMessage(records, i * perMessage, batchRecordsMax));
    let flow: Flow;
    if (raw === null) {
      const writable = call.write(bytes as unknown as ConsumeResponse);
      if (!writable) await firstEvent(call, ["drain", "close"], signal);
      flow = afterWrite(output, bytes.length + grpcPrefixBytes, signal);
    } else {
      gathered.push(bytes);
      gatheredBytes += bytes.length + grpcPrefixBytes;
      if (gatheredBytes < rawWriteBytes && i < messages - 1) continue;
      flow = await writeRaw(output, raw, gathered, signal);
      gathered = [];
      gatheredBytes = 0;
    }
    if (flow !== "go") return { records: recordsIn(i + 1), flow };
  }
  return { records: records.length, flow: signal.aborted ? "stop" : "go" };
}

async function writeRaw(
  output: ConsumeOutput,
  raw: RawMessageWriter,
  messages: Uint8Array[],
  signal: AbortSignal,
): Promise<Flow> {
  const { bytes, full } = raw.write(messages);
  if (bytes < 0) return "stop";
  if (full) await raw.waitForDrain(signal);
  return afterWrite(output, bytes, signal);
}

/**
 * Replays from the requested offset, then tails until the limit, a cancel or shutdown (or,
 * with `stopAtEnd`, ends at the end of the log as it was when the stream started).
 */
export async function streamRecords(
  ctx: ServiceContext,
  call: ConsumeCall,
  signal: AbortSignal,
): Promise<void> {
  const { limit, batchRecordsMax, stopAtEnd } = call.request;
  let offset = Number(call.request.offset ?? 0);
  let remaining = Number(limit ?? 0) > 0 ? Number(limit) : Infinity;
  const end = stopAtEnd ? ctx.log.nextOffset() : Infinity;
  const output: ConsumeOutput = { call, raw: rawMessageWriterOf(call), window: sendWindowOf(call) };
  const batch = Number(batchRecordsMax ?? 0);
  try {
    while (remaining > 0 && offset < end && !signal.aborted) {
      const wanted = Math.min(remaining, end - offset, 1 << 20);
      const sent = await sendStep(ctx, output, offset, wanted, batch, signal);
      if (sent === null) {
        await ctx.log.waitForOffset(offset, signal);
        continue;
      }
      offset += sent.records;
      remaining -= sent.records;
      if (sent.flow === "stop") return;
      if (sent.flow === "behind" && output.window) {
        // Waits holding no records: the ones not written are read again once it goes on.
        await waitForClient(ctx, output.window, signal);
        if (output.window.session.ended) return; // the connection is gone: stop reading the log
      }
    }
  } finally {
    output.window?.release();
  }
}

/**
 * Reads the step at `offset` and sends it (null: nothing there yet). Its own frame, so that no
 * reference to the step's records outlives it: a suspended async function keeps its
 * registers, and a stream that waits for its client must not pin the log's read buffers.
 */
async function sendStep(
  ctx: ServiceContext,
  output: ConsumeOutput,
  offset: number,
  wanted: number,
  batchRecordsMax: number,
  signal: AbortSignal,
): Promise<Sent | null> {
  const records = nextBatch(ctx, offset, wanted, stepBytes(output.window));
  if (records.length === 0) return null;
  return await send(output, records, batchRecordsMax, signal);
}

type ProduceCall = ServerDuplexStream<ProduceRequest, ProduceResponse>;

/** Value bytes a stream's coalesced append may hold (a larger request goes alone). */
export const coalesceBytesMax = 1024 * 1024;

/** A request waiting for its append: how many records it holds. */
interface AppendWaiter {
  readonly count: number;
}

/**
 * Where a stream's appender reports outcomes, once per request, without a promise per
 * request: `appended` with the append's ack and the request's own first offset, or
 * `failed`; then `settled` once for everything one append (or one refusal) decided.
 */
interface AppendOutcomes<W extends AppendWaiter> {
  appended(waiter: W, ack: AppendAck, baseOffset: number): void;
  failed(waiter: W, error: unknown): void;
  settled(): void;
}

interface Group<W extends AppendWaiter> {
  values: Uint8Array[];
  bytes: number;
  /** A batch naming a producer is appended alone, as its own entry (it is deduplicated whole). */
  producer: ProducerRef | undefined;
  waiters: W[];
}

/**
 * Returns `append(values, producer, waiter)` for one stream: while the stream's previous
 * append is in flight, new requests gather into one group that becomes the next append (one
 * entry, one group-commit slot), so a pipelining client's requests cost one log append per
 * fsync rather than one each, with no added wait when the stream is idle. Each request still
 * gets its own first offset. A failed append fails every request in it (none of them was
 * appended) and every later one, which is then never appended: the stream ends at the first
 * failure. A request naming a producer is appended on its own, never coalesced with others.
 */
function coalescingAppender<W extends AppendWaiter>(
  log: CommitLog,
  outcomes: AppendOutcomes<W>,
): (values: Uint8Array[], producer: ProducerRef | undefined, waiter: W) => void {
  const queue: Group<W>[] = [];
  let appending = false;
  let failure: { error: unknown } | null = null;
  const fail = (group: Group<W>, error: unknown) => {
    failure ??= { error };
    for (const waiter of group.waiters) outcomes.failed(waiter, error);
    outcomes.settled();
  };
  const next = (): void => {
    const group = queue.shift();
    if (!group) return;
    if (failure) {
      fail(group, failure.error);
      return next();
    }
    appending = true;
    log.append(group.values, group.producer).then((ack) => {
      let offset = ack.baseOffset;
      for (const waiter of group.waiters) {
        outcomes.appended(waiter, ack, offset);
        offset += waiter.count;
      }
      outcomes.settled();
      appending = false;
      next();
    }, (error) => {
      fail(group, error);
      appending = false;
      next();
    });
  };
  return (values, producer, waiter) => {
    if (failure) {
      outcomes.failed(waiter, failure.error);
      outcomes.settled();
      return;
    }
    let bytes = 0;
    for (const value of values) bytes += value.length;
    let group = queue.at(-1);
    if (
      !group || group.bytes + bytes > coalesceBytesMax || group.producer !== undefined ||
      producer !== undefined
    ) {
      group = { values: [], bytes: 0, waiters: [], producer };
      queue.push(group);
    }
    for (const value of values) group.values.push(value);
    group.bytes += bytes;
    group.waiters.push(waiter);
    if (!appending) next();
  };
}

/** One request of a produce stream, answered in order once settled. */
interface ProduceSlot {
  /** Records in the request (0 until it is read). */
  count: number;
  settled: boolean;
  response: ProduceResponse | null;
  error: unknown;
}

/**
 * Reads requests while earlier ones are appending (a pipelining client's requests coalesce
 * into few appends) and answers in request order. Stops reading while `produceInFlightMax`
 * requests are pending, the response stream is backed up, or the client is behind on its
 * answers (`windowOverrunBytesMax` beyond its HTTP/2 window, or `clientBacklogBytesMax` in the
 * socket). The first
 * failure ends the stream with its status; nothing after an invalid request is appended.
 * Answers are settled slots in a FIFO, written as far as the first unsettled one: all the
 * answers an append settles leave in one HTTP/2 write when grpc-js's internals allow it.
 */
export function pipelineProduce(
  ctx: ServiceContext,
  call: ProduceCall,
  onEnd: (error: unknown) => void,
): void {
  const append = coalescingAppender<ProduceSlot>(ctx.log, {
    appended: (slot, ack, baseOffset) => {
      const response = produceResponse(ack, slot.count);
      response.offset = baseOffset;
      slot.settled = true;
      slot.response = response;
    },
    failed: (slot, error) => {
      slot.settled = true;
      slot.error = error;
      refused = true;
    },
    settled: () => flush(),
  });
  const log = malformedLogOf(ctx);
  const raw = rawMessageWriterOf(call);
  const window = raw ? sendWindowOf(call) : null;
  const slots: ProduceSlot[] = [];
  let head = 0; // slots before it are answered
  let waitingForDrain = false;
  let waitingForClient = false;
  let inputEnded = false;
  let finished = false;
  let refused = false; // an invalid request was read: append nothing after it
  const finish = (error: unknown) => {
    finished = true;
    window?.release();
    onEnd(error);
  };
  const fail = (error: unknown) => {
    if (finished) return;
    const failure = toServiceError(error);
    call.emit("error", { code: failure.grpcStatus, details: failure.message });
    finish(failure);
  };
  const waitThen = (wait: Promise<void>, clear: () => void) => {
    void wait.then(() => {
      clear();
      flush();
    });
  };
  /** Writes settled answers through grpc-js, one write each; false on backpressure. */
  const answerEach = (): unknown => {
    while (head < slots.length && slots[head]!.settled) {
      const slot = slots[head++]!;
      if (slot.response === null) return slot.error ?? new Error("request failed");
      if (!call.write(slot.response)) {
        waitingForDrain = true;
        waitThen(firstEvent(call, ["drain", "close"], ctx.shutdownSignal), () => {
          waitingForDrain = false;
        });
        return null;
      }
    }
    return null;
  };
  /** Writes settled answers in one write; returns the failure met, if any. */
  const answerRaw = (writer: RawMessageWriter): unknown => {
    const answers: Uint8Array[] = [];
    let failure: unknown = null;
    while (head < slots.length && slots[head]!.settled) {
      const slot = slots[head++]!;
      if (slot.response === null) {
        failure = slot.error ?? new Error("request failed");
        break;
      }
      answers.push(encodeProduceResponse(slot.response));
    }
    if (answers.length === 0) return failure;
    const { bytes, full } = writer.write(answers);
    if (bytes > 0) window?.wrote(bytes);
    if (full) {
      waitingForDrain = true;
      waitThen(writer.waitForDrain(ctx.shutdownSignal), () => waitingForDrain = false);
    }
    if (window && !waitingForClient && !window.within(pauseBeyond)) {
      waitingForClient = true; // a client that sends but does not read its answers
      ctx.streamsWaitingForClient++;
      call.pause();
      waitThen(window.waitWithin(resumeWithin, ctx.shutdownSignal), () => {
        waitingForClient = false;
        ctx.streamsWaitingForClient--;
      });
    }
    return failure;
  };
  const flush = () => {
    if (waitingForDrain || finished) return;
    const failure = raw ? answerRaw(raw) : answerEach();
    if (failure !== null) return fail(failure);
    if (head > 1024 && head * 2 > slots.length) { // drop answered slots, amortised O(1)
      slots.splice(0, head);
      head = 0;
    }
    const inFlight = slots.length - head;
    if (call.isPaused() && !waitingForClient && inFlight < produceInFlightMax / 2) call.resume();
    if (inputEnded && inFlight === 0 && !waitingForDrain) {
      call.end();
      finish(null);
    }
  };
  const settle = (slot: ProduceSlot, response: ProduceResponse | null, error: unknown) => {
    slot.settled = true;
    slot.response = response;
    slot.error = error;
    if (response === null) refused = true;
    flush();
  };
  call.on("data", (request: ProduceRequest) => {
    if (finished || refused) return;
    const slot: ProduceSlot = { count: 0, settled: false, response: null, error: null };
    slots.push(slot);
    if (slots.length - head >= produceInFlightMax) call.pause();
    let values: Uint8Array[];
    let producer: ProducerRef | undefined;
    try {
      if (isMalformed(request)) {
        throw serviceError(
          "INVALID_ARGUMENT",
          refuseMalformed(ctx, log, produceStreamPath, request),
        );
      }
      values = valuesOf(request); // before the next request is read: nothing appends after it
      producer = producerOf(request);
      if (ctx.closing) throw serviceError("UNAVAILABLE", "The server is shutting down");
    } catch (error) {
      settle(slot, null, error);
      return;
    }
    slot.count = values.length;
    append(values, producer, slot);
  });
  call.on("end", () => {
    inputEnded = true;
    flush();
  });
  call.on("cancelled", () => {
    if (finished) return;
    finish("CANCELLED");
  });
}
