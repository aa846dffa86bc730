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
  type ProduceRequest,
  type ProduceResponse,
} from "../proto/mod.ts";
import type { ServiceContext } from "./_context.ts";
import { outOfRange, serviceError, toServiceError } from "./_errors.ts";
import { toRecordMessage, valuesOf } from "./_grpc_codec.ts";
import type { CommitLog, ServedRecord } from "./_types.ts";
import { sendWindowOf, type StreamSendWindow } from "./_h2_send_window.ts";

/** Bytes read from the log per step of a consume stream (bounds server memory per stream). */
export const streamReadBytesMax = 256 * 1024;
/**
 * Bytes a consume stream may write beyond the window its client granted before it waits for
 * the client to read (see _h2_send_window.ts); it goes on once the backlog is half that.
 */
export const clientBacklogBytesMax = 1024 * 1024;
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

function nextBatch(ctx: ServiceContext, offset: number, wanted: number): ServedRecord[] {
  const first = ctx.log.firstOffset();
  if (offset < first) throw outOfRange(offset, first, ctx.log.nextOffset());
  if (offset >= ctx.log.nextOffset()) return [];
  return ctx.log.readFrom(offset, streamReadBytesMax).slice(0, wanted);
}

/** Waits until the client has read enough of what the stream wrote. */
async function waitForClient(
  ctx: ServiceContext,
  window: StreamSendWindow,
  signal: AbortSignal,
): Promise<void> {
  ctx.streamsWaitingForClient++;
  try {
    await window.waitBelow(clientBacklogBytesMax / 2, signal);
  } finally {
    ctx.streamsWaitingForClient--;
  }
}

/**
 * Sends `records` honouring flow control: grpc-js's write()/'drain', and our own account of
 * the client's HTTP/2 window where the runtime does not report it; false if the stream
 * stopped meanwhile.
 */
async function send(
  ctx: ServiceContext,
  call: ConsumeCall,
  window: StreamSendWindow | null,
  records: ServedRecord[],
  batchRecordsMax: number,
  signal: AbortSignal,
): Promise<boolean> {
  for (let i = 0; i < records.length; i += Math.max(1, batchRecordsMax)) {
    if (signal.aborted) return false;
    const message: ConsumeResponse = batchRecordsMax > 0
      ? { records: records.slice(i, i + batchRecordsMax).map(toRecordMessage) }
      : { record: toRecordMessage(records[i]!) };
    // Encoded here so the account knows the exact DATA bytes (the serializer passes bytes on).
    const bytes = encodeConsumeResponse(message);
    const writable = call.write(bytes as unknown as ConsumeResponse);
    window?.wrote(bytes.length + grpcPrefixBytes);
    if (!writable) await firstEvent(call, ["drain", "close"], signal);
    if (window && window.backlog() > clientBacklogBytesMax) {
      await waitForClient(ctx, window, signal);
      if (window.session.ended) return false; // the connection is gone: stop reading the log
    }
  }
  return !signal.aborted;
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
  const window = sendWindowOf(call);
  try {
    while (remaining > 0 && offset < end && !signal.aborted) {
      const records = nextBatch(ctx, offset, Math.min(remaining, end - offset, 1 << 20));
      if (records.length === 0) {
        await ctx.log.waitForOffset(offset, signal);
        continue;
      }
      const batch = Number(batchRecordsMax ?? 0);
      if (!(await send(ctx, call, window, records, batch, signal))) return;
      offset += records.length;
      remaining -= records.length;
    }
  } finally {
    window?.release();
  }
}

type ProduceCall = ServerDuplexStream<ProduceRequest, ProduceResponse>;

/** Value bytes a stream's coalesced append may hold (a larger request goes alone). */
export const coalesceBytesMax = 1024 * 1024;

interface Group {
  values: Uint8Array[];
  bytes: number;
  waiters: { count: number; resolve(offset: number): void; reject(error: unknown): void }[];
}

/**
 * Returns `append(values)` for one stream: while the stream's previous append is in flight,
 * new requests gather into one group that becomes the next append (one entry, one
 * group-commit slot), so a pipelining client's requests cost one log append per fsync rather
 * than one each, with no added wait when the stream is idle. Each request still gets its own
 * first offset. A failed append fails every request in it (none of them was appended) and
 * every later one, which is then never appended: the stream ends at the first failure.
 */
function coalescingAppender(log: CommitLog): (values: Uint8Array[]) => Promise<number> {
  const queue: Group[] = [];
  let appending = false;
  let failure: { error: unknown } | null = null;
  const fail = (group: Group, error: unknown) => {
    failure ??= { error };
    for (const waiter of group.waiters) waiter.reject(error);
  };
  const next = () => {
    const group = queue.shift();
    if (!group) return;
    if (failure) {
      fail(group, failure.error);
      return next();
    }
    appending = true;
    log.append(group.values).then(({ baseOffset }) => {
      let offset = baseOffset;
      for (const waiter of group.waiters) {
        waiter.resolve(offset);
        offset += waiter.count;
      }
    }, (error) => fail(group, error))
      .finally(() => {
        appending = false;
        next();
      });
  };
  return (values) => {
    if (failure) return Promise.reject(failure.error);
    const bytes = values.reduce((sum, value) => sum + value.length, 0);
    let group = queue.at(-1);
    if (!group || group.bytes + bytes > coalesceBytesMax) {
      group = { values: [], bytes: 0, waiters: [] };
      queue.push(group);
    }
    const joined = group;
    const result = new Promise<number>((resolve, reject) => {
      joined.values.push(...values);
      joined.bytes += bytes;
      joined.waiters.push({ count: values.length, resolve, reject });
    });
    if (!appending) next();
    return result;
  };
}

/** One request of a produce stream, answered in order once settled. */
interface ProduceSlot {
  settled: boolean;
  response: ProduceResponse | null;
  error: unknown;
}

/**
 * Reads requests while earlier ones are appending (a pipelining client's requests coalesce
 * into few appends) and answers in request order. Stops reading while `produceInFlightMax`
 * requests are pending or the response stream is backed up. The first failure ends the stream
 * with its status; nothing after an invalid request is appended. Answers are settled slots
 * in a FIFO, written synchronously as far as the first unsettled one (no promise per answer).
 */
export function pipelineProduce(
  ctx: ServiceContext,
  call: ProduceCall,
  onEnd: (error: unknown) => void,
): void {
  const append = coalescingAppender(ctx.log);
  const slots: ProduceSlot[] = [];
  let head = 0; // slots before it are answered
  let waitingForDrain = false;
  let inputEnded = false;
  let finished = false;
  let refused = false; // an invalid request was read: append nothing after it
  const fail = (error: unknown) => {
    if (finished) return;
    finished = true;
    const failure = toServiceError(error);
    call.emit("error", { code: failure.grpcStatus, details: failure.message });
    onEnd(failure);
  };
  const flush = () => {
    if (waitingForDrain || finished) return;
    while (head < slots.length && slots[head]!.settled) {
      const slot = slots[head++]!;
      if (slot.response === null) {
        fail(slot.error);
        break;
      }
      if (!call.write(slot.response)) {
        waitingForDrain = true;
        void firstEvent(call, ["drain", "close"], ctx.shutdownSignal).then(() => {
          waitingForDrain = false;
          flush();
        });
        break;
      }
    }
    if (head > 1024 && head * 2 > slots.length) { // drop answered slots, amortised O(1)
      slots.splice(0, head);
      head = 0;
    }
    if (call.isPaused() && slots.length - head < produceInFlightMax / 2) call.resume();
    if (inputEnded && head === slots.length && !finished && !waitingForDrain) {
      finished = true;
      call.end();
      onEnd(null);
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
    const slot: ProduceSlot = { settled: false, response: null, error: null };
    slots.push(slot);
    if (slots.length - head >= produceInFlightMax) call.pause();
    let values: Uint8Array[];
    try {
      values = valuesOf(request); // before the next request is read: nothing appends after it
      if (ctx.closing) throw serviceError("UNAVAILABLE", "The server is shutting down");
    } catch (error) {
      settle(slot, null, error);
      return;
    }
    append(values).then(
      (offset) => settle(slot, { offset, count: values.length }, null),
      (error) => settle(slot, null, error),
    );
  });
  call.on("end", () => {
    inputEnded = true;
    flush();
  });
  call.on("cancelled", () => {
    if (finished) return;
    finished = true;
    onEnd("CANCELLED");
  });
}
