/**
 * The HTTP API's offsets (decimal integers only, exact above 2^53), reads past the end, and
 * clients that abort their upload.
 */
import { type RequestEvent, Service, startHttpServer } from "../../server/mod.ts";
import { assert, assertEquals, encoder, eventually } from "./_assert.ts";
import { MemoryLog } from "./_memory_log.ts";
import { startHarness } from "./_harness.ts";
import { rawRequest } from "./_raw_http.ts";

const b64 = (text: string) => btoa(text);

async function harnessWithTwoRecords(logged: string[] = []) {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    logged.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const h = await startHarness({
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
  });
  await h.log.append([encoder.encode("a"), encoder.encode("b")]);
  return h;
}

Deno.test("HTTP offsets: only decimal integers are accepted (400 naming the value)", async () => {
  await using h = await harnessWithTwoRecords();
  const port = h.http.port;
  const paths = [
    "/v1/records/0x10",
    "/v1/records/1e3",
    "/v1/records/-1",
    "/v1/records/1.0",
    "/v1/records/+1",
    "/v1/records?from=%200%20",
    "/v1/records?from=0x1",
    "/v1/records?from=1e0",
    "/v1/records?from=",
    "/v1/records?from=0&limit=0x10",
    "/v1/records?from=0&limit=1e1",
    "/v1/records/18446744073709551616", // 2^64: not a uint64
  ];
  for (const path of paths) {
    const reply = await rawRequest(port, "GET", path);
    assertEquals(
      [reply.status, JSON.parse(reply.body).error.code],
      [400, "INVALID_ARGUMENT"],
      path,
    );
    assert(JSON.parse(reply.body).error.message.includes("expected a decimal integer"), path);
  }
  const bodies = ['{"offset":[0]}', '{"offset":"0x1"}', '{"offset":1e0}', '{"offset":" 0 "}'];
  for (const body of [...bodies, '{"offset":1.0}', '{"offset":-0}', '{"offset":true}', "{}"]) {
    const reply = await rawRequest(port, "GET", "/", { body });
    assertEquals(
      [reply.status, JSON.parse(reply.body).error.code],
      [400, "INVALID_ARGUMENT"],
      body,
    );
  }
  const sse = await rawRequest(port, "GET", "/v1/records", {
    headers: { accept: "text/event-stream", "last-event-id": "0x0" },
  });
  assertEquals(sse.status, 400, "Last-Event-ID is an offset too");
  // What stays valid: plain digits as a path, query, JSON number or JSON string.
  for (const body of ['{"offset":1}', '{"offset":"1"}']) {
    const reply = await rawRequest(port, "GET", "/", { body });
    assertEquals(JSON.parse(reply.body).record.value, b64("b"), body);
  }
  assertEquals(JSON.parse((await rawRequest(port, "GET", "/v1/records/01")).body).offset, 1);
});

Deno.test("HTTP offsets above 2^53 are quoted exactly in OFFSET_OUT_OF_RANGE", async () => {
  await using h = await harnessWithTwoRecords();
  const port = h.http.port;
  const huge = "18446744073709551615";
  const expected = `Cannot read offset ${huge}: the log holds offsets 0 to 1`;
  for (
    const [method, path, body] of [
      ["GET", `/v1/records/${huge}`, undefined],
      ["GET", "/", `{"offset":${huge}}`],
      ["GET", "/", `{"offset":"${huge}"}`],
      ["GET", `/v1/records?from=${huge}`, undefined],
      ["GET", `/v1/records?from=${huge}&follow=true`, undefined],
      ["GET", "/v1/records/9007199254740993", undefined], // 2^53 + 1
    ] as const
  ) {
    const reply = await rawRequest(port, method, path, body === undefined ? {} : { body });
    const error = JSON.parse(reply.body).error;
    assertEquals(reply.status, 404, path);
    const offset = path.endsWith("993") ? "9007199254740993" : huge;
    assertEquals(error.message, expected.replace(huge, offset), `${path} ${body}`);
  }
});

Deno.test("HTTP ?from= past the end without follow is 404; at the end it is an empty read", async () => {
  await using h = await harnessWithTwoRecords();
  const port = h.http.port;
  const past = await rawRequest(port, "GET", "/v1/records?from=5");
  assertEquals([past.status, JSON.parse(past.body).error], [404, {
    code: "OFFSET_OUT_OF_RANGE",
    message: "Cannot read offset 5: the log holds offsets 0 to 1",
  }]);
  const sse = await rawRequest(port, "GET", "/v1/records?from=3", {
    headers: { accept: "text/event-stream" },
  });
  assertEquals(sse.status, 404);
  const atEnd = await rawRequest(port, "GET", "/v1/records?from=2");
  assertEquals([atEnd.status, atEnd.body, atEnd.complete], [200, "", true]);
});

Deno.test("HTTP: a client that aborts its upload is a 499 client event, not a logged 500", async () => {
  const logged: string[] = [];
  const log = (level: string) => (message: string) => logged.push(`${level} ${message}`);
  const events: RequestEvent[] = [];
  const service = new Service({
    log: new MemoryLog(),
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    observe: (event) => events.push(event),
  });
  let arrived = 0;
  const http = await startHttpServer(service, {
    host: "127.0.0.1",
    port: 0,
    wrapListener: (listener) => (request, response) => {
      arrived++;
      return listener(request, response);
    },
  });
  service.setServing();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
    const head = "POST /v1/records HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
      'content-length: 1000\r\n\r\n{"value":"';
    await conn.write(encoder.encode(head));
    await eventually(() => arrived === 1, "the request to reach the handler");
    conn.close(); // gone before the body's end
    await eventually(() => events.length === 1, "the request to finish", 5000);
    assertEquals([events[0]!.method, events[0]!.status], ["POST /v1/records", "499"]);
    assertEquals(logged.filter((line) => line.startsWith("error")), []);
  } finally {
    service.beginShutdown();
    await http.close(1000);
  }
});

Deno.test("HTTP readBody: a body stream that closes before its end, with no error, is CLIENT_CLOSED", async () => {
  const { EventEmitter } = await import("node:events");
  const { readBody } = await import("../../server/_http_io.ts");
  const request = Object.assign(new EventEmitter(), {
    headers: { "content-length": "10" },
    resume() {},
  });
  // deno-lint-ignore no-explicit-any
  const body = readBody(request as any, 100);
  request.emit("data", new Uint8Array(3));
  request.emit("close"); // some runtimes close without an "error" event: never hang
  const failure = await body.then(() => null, (error) => error);
  assertEquals([failure?.code, failure?.httpStatus], ["CLIENT_CLOSED", 499]);
});
