/**
 * `GET /v1/records?from=N&follow=true&limit=M`: NDJSON (default) or server-sent events
 * (`Accept: text/event-stream`), flow-controlled by the socket, woken by appends.
 *
 * A stream that fails after its 200 status line (a damaged record: CORRUPT; retention
 * overtaking a slow reader: OFFSET_OUT_OF_RANGE) writes the error as its last line (NDJSON) or
 * as an `error` event (SSE), then aborts the connection instead of ending the response: an
 * HTTP/1.1 chunked body then lacks its terminating chunk, so no client can take a damaged
 * log for a complete read.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceContext } from "./_context.ts";
import { outOfRange, type ServiceError, toServiceError } from "./_errors.ts";
import { parseDecimal, recordJson } from "./_http_io.ts";
import { firstEvent, streamReadBytesMax } from "./_grpc_stream.ts";

interface StreamRequest {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
}

/** Where a stream starts and stops; `end` is Infinity with follow. */
interface StreamPlan {
  from: number;
  limit: number;
  end: number;
  sse: boolean;
}

/** How long a failing stream waits for its error line to reach the socket before aborting. */
const errorFlushMsMax = 5000;

const safeOffsetMax = BigInt(Number.MAX_SAFE_INTEGER);

function plan(ctx: ServiceContext, request: IncomingMessage, url: URL): StreamPlan {
  const params = url.searchParams;
  const header = request.headers["last-event-id"];
  const lastEventId = Array.isArray(header) ? header[0] : header;
  const log = ctx.log;
  // An EventSource that reconnects sends the id of the last event it got: resume after it.
  const from = params.has("from")
    ? parseDecimal(params.get("from"), "from")
    : lastEventId !== undefined
    ? parseDecimal(lastEventId, "Last-Event-ID") + 1n
    : BigInt(log.firstOffset());
  const limit = params.has("limit") ? parseDecimal(params.get("limit"), "limit") : 0n;
  const follow = params.get("follow") === "true" || params.get("follow") === "1";
  const first = log.firstOffset();
  const next = log.nextOffset();
  // Without follow the stream reads what exists now: starting past the end asks for records
  // that do not exist (404); starting at the end is an empty read, as a pager reaching the
  // end expects. With follow, an offset past the end is waited for, as gRPC ConsumeStream does.
  if (
    from < BigInt(first) || from > safeOffsetMax || (!follow && from > BigInt(next))
  ) throw outOfRange(from, first, next);
  return {
    from: Number(from),
    limit: limit > 0n ? Number(limit) : Infinity,
    end: follow ? Infinity : next,
    sse: (request.headers.accept ?? "").includes("text/event-stream"),
  };
}

/** Streams records until the limit, the end (without follow), disconnect or shutdown. */
export async function streamHttpRecords(ctx: ServiceContext, io: StreamRequest): Promise<void> {
  const { request, response, url } = io;
  const streamPlan = plan(ctx, request, url);
  const stop = new AbortController();
  const abort = () => stop.abort();
  response.on("close", abort);
  ctx.shutdownSignal.addEventListener("abort", abort, { once: true });
  response.writeHead(200, {
    "content-type": streamPlan.sse ? "text/event-stream" : "application/x-ndjson",
    "cache-control": "no-store",
  });
  response.flushHeaders();
  let failure: ServiceError | null;
  try {
    failure = await pump(ctx, response, streamPlan, stop.signal);
  } catch (error) {
    failure = toServiceError(error);
  } finally {
    response.off("close", abort);
    ctx.shutdownSignal.removeEventListener("abort", abort);
  }
  if (failure === null) response.end();
  else await failStream(ctx, response, failure, streamPlan.sse);
}

/** Writes records as the socket takes them; returns the error that ends the stream, if any. */
async function pump(
  ctx: ServiceContext,
  response: ServerResponse,
  { from, limit, end, sse }: StreamPlan,
  signal: AbortSignal,
): Promise<ServiceError | null> {
  let offset = from;
  let remaining = limit;
  while (remaining > 0 && offset < end && !signal.aborted) {
    if (offset < ctx.log.firstOffset()) {
      // Retention overtook a slow reader.
      return outOfRange(offset, ctx.log.firstOffset(), ctx.log.nextOffset());
    }
    if (offset >= ctx.log.nextOffset()) {
      await ctx.log.waitForOffset(offset, signal);
      continue;
    }
    // A damaged record throws CORRUPT here; the caller turns it into the stream's last line.
    const records = ctx.log.readFrom(offset, streamReadBytesMax)
      .slice(0, Math.min(remaining, end - offset));
    let text = "";
    for (const record of records) {
      const line = JSON.stringify(recordJson(record));
      text += sse ? `id: ${record.offset}\ndata: ${line}\n\n` : `${line}\n`;
    }
    offset += records.length;
    remaining -= records.length;
    if (!response.write(text)) await firstEvent(response, ["drain", "close"], signal);
  }
  return null;
}

/**
 * Ends a stream whose status line already said 200: the error as the last NDJSON line or an
 * SSE `error` event, then an aborted connection (no terminating chunk), never a clean end.
 */
async function failStream(
  ctx: ServiceContext,
  response: ServerResponse,
  failure: ServiceError,
  sse: boolean,
): Promise<void> {
  const fields = { code: failure.code, error: failure.message };
  if (failure.httpStatus >= 500) ctx.logger.error("HTTP stream failed", fields);
  else ctx.logger.info("HTTP stream ended with an error", fields);
  // Observers see the failure's status, not the 200 the status line promised.
  response.statusCode = failure.httpStatus;
  if (!response.destroyed) {
    const body = JSON.stringify({ error: { code: failure.code, message: failure.message } });
    const flushed = new AbortController();
    const timer = setTimeout(() => flushed.abort(), errorFlushMsMax);
    const written = new Promise<void>((resolve) => {
      response.write(sse ? `event: error\ndata: ${body}\n\n` : `${body}\n`, () => resolve());
    });
    // A client that stopped reading must not hold the stream open: bounded by the timer.
    await Promise.race([written, firstEvent(response, ["close"], flushed.signal)]);
    clearTimeout(timer);
    flushed.abort();
  }
  response.destroy();
}
