import { assert, assertEquals, decoder, encoder, eventually } from "./_assert.ts";
import { startHarness } from "./_harness.ts";

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * A raw HTTP/1.1 request over TCP: fetch and Deno's node:http client both drop GET bodies,
 * which the book's `GET /` needs.
 */
async function request(url: string, method: string, body?: string): Promise<Reply> {
  const { hostname, port, pathname, search } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const payload = encoder.encode(body ?? "");
    const head = `${method} ${pathname}${search} HTTP/1.1\r\nhost: ${hostname}\r\n` +
      `connection: close\r\ncontent-length: ${payload.length}\r\n\r\n`;
    const bytes = new Uint8Array([...encoder.encode(head), ...payload]);
    for (let sent = 0; sent < bytes.length;) sent += await conn.write(bytes.subarray(sent));
    let text = "";
    const buffer = new Uint8Array(64 * 1024);
    for (let i = 0; i < 10_000; i++) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n));
    }
    return parseReply(text);
  } finally {
    conn.close();
  }
}

function parseReply(text: string): Reply {
  const split = text.indexOf("\r\n\r\n");
  const lines = text.slice(0, split).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(split + 4);
  if (headers["transfer-encoding"] === "chunked") body = unchunk(body);
  return { status: Number(lines[0]?.split(" ")[1]), body, headers };
}

function unchunk(text: string): string {
  let out = "";
  for (let at = 0, i = 0; at < text.length && i < 100_000; i++) {
    const eol = text.indexOf("\r\n", at);
    const size = parseInt(text.slice(at, eol), 16);
    if (!(size > 0)) break;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return out;
}

const b64 = (text: string) => btoa(text);

Deno.test("HTTP: the book's POST / and GET / with a JSON body", async () => {
  await using h = await startHarness();
  for (const [i, word] of ["hello", "world"].entries()) {
    const posted = await request(
      h.httpUrl,
      "POST",
      JSON.stringify({ record: { value: b64(word) } }),
    );
    assertEquals([posted.status, JSON.parse(posted.body)], [200, { offset: i }]);
  }
  const got = await request(h.httpUrl, "GET", JSON.stringify({ offset: 1 }));
  assertEquals(JSON.parse(got.body), { record: { value: b64("world"), offset: 1 } });
});

Deno.test("HTTP: REST produce (single and batch) and read by offset", async () => {
  await using h = await startHarness();
  const one = await request(`${h.httpUrl}/v1/records`, "POST", JSON.stringify({ value: b64("a") }));
  // The harness's memory log reports no fsync: the answer claims none.
  const notSynced = { replicasFsynced: 0, commitIndex: 0, duplicate: false, durable: false };
  assertEquals(JSON.parse(one.body), { offset: 0, count: 1, ...notSynced });
  const batch = await request(
    `${h.httpUrl}/v1/records`,
    "POST",
    JSON.stringify({ records: [{ value: b64("b") }, { value: b64("c") }] }),
  );
  assertEquals(JSON.parse(batch.body), { offset: 1, count: 2, ...notSynced });
  const got = await request(`${h.httpUrl}/v1/records/2`, "GET");
  assertEquals(JSON.parse(got.body), { value: b64("c"), offset: 2, term: 0 });
});

Deno.test("HTTP: errors are JSON with a code and the matching status", async () => {
  await using h = await startHarness();
  const cases: [string, string, string | undefined, number, string][] = [
    ["/v1/records/0", "GET", undefined, 404, "OFFSET_OUT_OF_RANGE"],
    ["/v1/records/x", "GET", undefined, 400, "INVALID_ARGUMENT"],
    ["/", "POST", "{not json", 400, "INVALID_ARGUMENT"],
    ["/", "POST", JSON.stringify({}), 400, "INVALID_ARGUMENT"],
    ["/", "POST", JSON.stringify({ record: { value: "@@" } }), 400, "INVALID_ARGUMENT"],
    ["/v1/records", "POST", JSON.stringify({ value: b64("x".repeat(2000)) }), 413, "TOO_LARGE"],
    ["/nope", "GET", undefined, 404, "NOT_FOUND"],
    ["/v1/records", "DELETE", undefined, 405, "METHOD_NOT_ALLOWED"],
  ];
  for (const [path, method, body, status, code] of cases) {
    const reply = await request(`${h.httpUrl}${path}`, method, body);
    assertEquals([reply.status, JSON.parse(reply.body).error.code], [status, code], path);
  }
  const range = await request(h.httpUrl, "GET", JSON.stringify({ offset: 0 }));
  assertEquals(
    JSON.parse(range.body).error.message,
    "Cannot read offset 0: the log is empty (the next offset is 0)",
  );
  h.service.beginShutdown();
  const late = await request(`${h.httpUrl}/v1/records`, "POST", JSON.stringify({ value: "YQ==" }));
  assertEquals([late.status, JSON.parse(late.body).error.code], [503, "UNAVAILABLE"]);
});

Deno.test("HTTP: a body over the limit is 413", async () => {
  await using h = await startHarness();
  const huge = JSON.stringify({ value: "A".repeat(3 * 1024 * 1024) });
  const reply = await request(`${h.httpUrl}/v1/records`, "POST", huge);
  assertEquals([reply.status, JSON.parse(reply.body).error.code], [413, "TOO_LARGE"]);
  assertEquals(h.log.nextOffset(), 0);
});

Deno.test("HTTP: /healthz and /readyz", async () => {
  await using h = await startHarness();
  assertEquals((await request(`${h.httpUrl}/healthz`, "GET")).status, 200);
  assertEquals((await request(`${h.httpUrl}/readyz`, "GET")).status, 200);
  h.service.beginShutdown();
  assertEquals((await request(`${h.httpUrl}/readyz`, "GET")).status, 503);
  assertEquals((await request(`${h.httpUrl}/healthz`, "GET")).status, 200);
});

Deno.test("HTTP: GET /v1/records without follow returns what exists as NDJSON", async () => {
  await using h = await startHarness();
  await h.log.append(["a", "b", "c"].map((v) => encoder.encode(v)));
  const reply = await request(`${h.httpUrl}/v1/records?from=1`, "GET");
  assertEquals(reply.headers["content-type"], "application/x-ndjson");
  const lines = reply.body.trim().split("\n").map((line) => JSON.parse(line));
  assertEquals(lines.map((l) => [l.offset, atob(l.value)]), [[1, "b"], [2, "c"]]);
  assert(h.events.some((e) => e.method === "GET /v1/records" && e.status === "200"));
});

Deno.test("HTTP: follow=true tails as server-sent events, woken by appends", async () => {
  await using h = await startHarness();
  await h.log.append([encoder.encode("a")]);
  const response = await fetch(`${h.httpUrl}/v1/records?from=0&follow=true&limit=3`, {
    headers: { accept: "text/event-stream" },
  });
  assertEquals(response.headers.get("content-type"), "text/event-stream");
  const reader = response.body!.getReader();
  let text = "";
  const readUntil = async (events: number) => {
    for (let i = 0; i < 100 && text.split("\n\n").length <= events; i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
  };
  await readUntil(1);
  await eventually(() => h.log.waiters.size === 1, "the stream to wait");
  await h.log.append([encoder.encode("b"), encoder.encode("c")]);
  await readUntil(3);
  const data = text.split("\n\n").filter((e) => e).map((e) => JSON.parse(e.split("data: ")[1]!));
  assertEquals(data.map((d) => atob(d.value)), ["a", "b", "c"]);
  assert(text.startsWith("id: 0\n"), "events carry their offset as id");
  await reader.cancel();
});

Deno.test("HTTP: a follow stream ends when the client disconnects", async () => {
  await using h = await startHarness();
  const controller = new AbortController();
  const response = await fetch(`${h.httpUrl}/v1/records?follow=true`, {
    signal: controller.signal,
  });
  await eventually(() => h.log.waiters.size === 1, "the stream to wait");
  controller.abort();
  await response.body?.cancel().catch(() => {});
  await eventually(() => h.log.waiters.size === 0, "the server to drop the waiter");
});

Deno.test("HTTP: a follow stream to a reader that stalls stops reading the log", async () => {
  await using h = await startHarness();
  const value = new Uint8Array(1000);
  const total = 20_000; // 20 MB of records, base64 in JSON: ~27 MB to send
  for (let i = 0; i < total; i += 500) await h.log.append(Array.from({ length: 500 }, () => value));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.http.port });
  try {
    const head = "GET /v1/records?from=0&follow=true HTTP/1.1\r\nhost: x\r\n\r\n";
    await conn.write(encoder.encode(head)); // ...and never read the response
    let last = -1;
    let stableChecks = 0;
    await eventually(() => {
      stableChecks = h.log.recordsRead === last ? stableChecks + 1 : 0;
      last = h.log.recordsRead;
      return last > 0 && stableChecks >= 50;
    }, "the server to stop at the full socket");
    assert(h.log.recordsRead < total / 2, `server read ${h.log.recordsRead} of ${total}`);
  } finally {
    conn.close();
  }
  await eventually(() => h.log.waiters.size === 0, "the stream to end after the disconnect");
});

Deno.test("HTTP: an event stream resumes after Last-Event-ID", async () => {
  await using h = await startHarness();
  await h.log.append(["a", "b", "c"].map((v) => encoder.encode(v)));
  const response = await fetch(`${h.httpUrl}/v1/records?limit=1`, {
    headers: { accept: "text/event-stream", "last-event-id": "1" },
  });
  const text = await response.text();
  assert(text.startsWith("id: 2\n"), text);
  assertEquals(atob(JSON.parse(text.split("data: ")[1]!).value), "c");
});

Deno.test("HTTP: a stream overtaken by retention ends with an error line, then an abort", async () => {
  await using h = await startHarness();
  await h.log.append([encoder.encode("a")]);
  const response = await fetch(`${h.httpUrl}/v1/records?from=0&follow=true`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = (await reader.read()).value ?? "";
  await eventually(() => h.log.waiters.size === 1, "the stream to wait at offset 1");
  h.log.first = 5; // retention removed offsets 0 to 4 ...
  await h.log.append(["b", "c", "d", "e", "f"].map((v) => encoder.encode(v))); // ... and it wakes
  let aborted = false;
  for (let i = 0; i < 100; i++) {
    const read = await reader.read().catch(() => null); // the server aborts: no clean end
    if (read === null) {
      aborted = true;
      break;
    }
    if (read.done) break;
    text += read.value;
  }
  assert(aborted, "a failed stream must not end like a complete one");
  const lines = text.trim().split("\n").map((line) => JSON.parse(line));
  assertEquals(lines[0].offset, 0);
  assertEquals(lines[1].error, {
    code: "OFFSET_OUT_OF_RANGE",
    message: "Cannot read offset 1: the log holds offsets 5 to 5",
  });
});
