/**
 * `GET /v1/records?from=N&follow=true&limit=M`: NDJSON (default) or server-sent events
 * (`Accept: text/event-stream`), flow-controlled by the socket, woken by appends.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceContext } from "./_context.ts";
import { outOfRange } from "./_errors.ts";
import { parseOffset, recordJson } from "./_http_io.ts";
import { firstEvent, streamReadBytesMax } from "./_grpc_stream.ts";

interface StreamRequest {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
}

function options(url: URL, lastEventId: string | undefined, log: ServiceContext["log"]) {
  const params = url.searchParams;
  // An EventSource that reconnects sends the id of the last event it got: resume after it.
  const from = params.has("from")
    ? parseOffset(params.get("from"), "from")
    : lastEventId !== undefined
    ? parseOffset(lastEventId, "Last-Event-ID") + 1
    : log.firstOffset();
  const limit = params.has("limit") ? parseOffset(params.get("limit"), "limit") : 0;
  const follow = params.get("follow") === "true" || params.get("follow") === "1";
  // Without follow, the stream ends at the end of the log as it is now.
  const end = follow ? Infinity : log.nextOffset();
  return { from, limit: limit > 0 ? limit : Infinity, end };
}

/** Streams records until the limit, the end (without follow), disconnect or shutdown. */
export async function streamHttpRecords(ctx: ServiceContext, io: StreamRequest): Promise<void> {
  const { request, response, url } = io;
  const lastEventId = request.headers["last-event-id"];
  const { from, limit, end } = options(
    url,
    Array.isArray(lastEventId) ? lastEventId[0] : lastEventId,
    ctx.log,
  );
  const first = ctx.log.firstOffset();
  if (from < first) throw outOfRange(from, first, ctx.log.nextOffset());
  const sse = (request.headers.accept ?? "").includes("text/event-stream");
  const stop = new AbortController();
  const abort = () => stop.abort();
  response.on("close", abort);
  ctx.shutdownSignal.addEventListener("abort", abort, { once: true });
  response.writeHead(200, {
    "content-type": sse ? "text/event-stream" : "application/x-ndjson",
    "cache-control": "no-store",
  });
  response.flushHeaders();
  try {
    let offset = from;
    let remaining = limit;
    while (remaining > 0 && offset < end && !stop.signal.aborted) {
      if (offset < ctx.log.firstOffset()) {
        // Retention overtook a slow reader. The status line is gone, so the error is the last
        // line (NDJSON) or an `error` event (SSE).
        const failure = outOfRange(offset, ctx.log.firstOffset(), ctx.log.nextOffset());
        const body = JSON.stringify({ error: { code: failure.code, message: failure.message } });
        response.write(sse ? `event: error\ndata: ${body}\n\n` : `${body}\n`);
        break;
      }
      if (offset >= ctx.log.nextOffset()) {
        await ctx.log.waitForOffset(offset, stop.signal);
        continue;
      }
      const records = ctx.log.readFrom(offset, streamReadBytesMax)
        .slice(0, Math.min(remaining, end - offset));
      let text = "";
      for (const record of records) {
        const line = JSON.stringify(recordJson(record));
        text += sse ? `id: ${record.offset}\ndata: ${line}\n\n` : `${line}\n`;
      }
      offset += records.length;
      remaining -= records.length;
      if (!response.write(text)) await firstEvent(response, ["drain", "close"], stop.signal);
    }
  } finally {
    response.off("close", abort);
    ctx.shutdownSignal.removeEventListener("abort", abort);
    response.end();
  }
}
