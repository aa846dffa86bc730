/**
 * The server decorators in-process (no OTEL: spans are no-ops here, otel_test.ts checks them):
 * handlers still work through them, streaming calls are counted while open, and the client's
 * subject reaches request lines reported after the fact.
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createLogger,
  Metrics,
  RequestObserver,
  traceGrpcService,
  traceHttpListener,
} from "../../observe/mod.ts";
import { assertEquals } from "./_assert.ts";
import { echoService } from "./_echo_service.ts";
import { parseExposition, valueOf } from "./_exposition.ts";

type GrpcClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

Deno.test("traced handlers answer as before and open streams are counted until they end", async () => {
  const metrics = new Metrics();
  let releaseTail = () => {};
  let tailStarted = () => {};
  const started = new Promise<void>((resolve) => (tailStarted = resolve));
  const server = new grpc.Server();
  server.addService(
    echoService,
    traceGrpcService(echoService, {
      echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, call.request),
      fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback({ code: grpc.status.INTERNAL, details: "Cannot append: disk full" }),
      tail: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        releaseTail = () => call.end();
        call.write(call.request);
        tailStarted();
      },
    }, { metrics }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => error ? reject(error) : resolve(bound),
    )
  );
  const Client = grpc.makeGenericClientConstructor(echoService, "Echo");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as GrpcClient;
  const openStreams = async () =>
    valueOf(parseExposition(await metrics.exposition()), "strand_open_streams", {
      transport: "grpc",
      method: "Tail",
    });
  try {
    const echoed = await new Promise<string>((resolve, reject) =>
      client.echo!(
        Buffer.from("ping"),
        (error: Error | null, reply: Buffer) => error ? reject(error) : resolve(reply.toString()),
      )
    );
    assertEquals(echoed, "ping");
    const failure = await new Promise<grpc.ServiceError>((resolve) =>
      client.fail!(Buffer.from("x"), (error: grpc.ServiceError) => resolve(error))
    );
    assertEquals([failure.code, failure.details], [
      grpc.status.INTERNAL,
      "Cannot append: disk full",
    ]);

    const call = client.tail!(Buffer.from("t")) as grpc.ClientReadableStream<Buffer>;
    const ended = new Promise<number>((resolve) =>
      call.on("status", (status: grpc.StatusObject) => resolve(status.code))
    );
    call.on("data", () => {});
    await started;
    assertEquals(await openStreams(), 1);
    releaseTail();
    assertEquals(await ended, grpc.status.OK);
    // The server's "finish" can trail the client's status by a tick: poll with a deadline.
    const deadlineMs = Date.now() + 5000;
    while ((await openStreams()) !== 0 && Date.now() < deadlineMs) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(await openStreams(), 0);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

function recordingObserver() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    format: "json",
    write: (line) => lines.push(JSON.parse(line)),
  });
  return { lines, observer: new RequestObserver({ logger, metrics: new Metrics() }) };
}

Deno.test("the HTTP decorator puts the client certificate's subject in scope for request lines", async () => {
  const { lines, observer } = recordingObserver();
  const listener = traceHttpListener(async () => {
    await Promise.resolve();
    observer.record({ transport: "http", method: "POST /", status: "200", durationMs: 1 });
  });
  const closeListeners: (() => void)[] = [];
  const request = {
    method: "POST",
    url: "/?x=1",
    headers: {},
    socket: { getPeerCertificate: () => ({ subject: { CN: "alice" } }) },
  };
  const response = {
    statusCode: 200,
    once: (_: string, listener: () => void) => closeListeners.push(listener),
  };
  await listener(request as unknown as IncomingMessage, response as unknown as ServerResponse);
  closeListeners.forEach((close) => close());
  observer.record({ transport: "http", method: "POST /", status: "200", durationMs: 1 });
  assertEquals(lines.map((line) => line.subject), ["alice", null], "only inside the request");
});

Deno.test("the gRPC decorator puts the client certificate's subject in scope for request lines", async () => {
  const { lines, observer } = recordingObserver();
  const definition = { echo: echoService.echo! };
  const traced = traceGrpcService(definition, {
    echo: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
      setTimeout(() => {
        observer.record({ transport: "grpc", method: "Echo", status: "OK", durationMs: 1 });
        callback(null, Buffer.from("ok"));
      }, 0);
    },
  });
  const call = {
    metadata: new grpc.Metadata(),
    getAuthContext: () => ({ sslPeerCertificate: { subject: { CN: ["bob", "ops"] } } }),
  };
  await new Promise<void>((resolve) =>
    (traced.echo as unknown as (call: unknown, callback: () => void) => void)(call, resolve)
  );
  assertEquals(lines.map((line) => line.subject), ["bob,ops"]);
});

Deno.test("an HTTP tail is counted while open and never reported as slow", async () => {
  const { lines, observer } = recordingObserver();
  const metrics = new Metrics();
  const openTails = async () =>
    valueOf(parseExposition(await metrics.exposition()), "strand_open_streams", {
      transport: "http",
      method: "GET /v1/records",
    });
  let during = -1;
  const listener = traceHttpListener(async () => {
    during = await openTails();
    observer.record({
      transport: "http",
      method: "GET /v1/records",
      status: "200",
      durationMs: 60_000,
    });
  }, { metrics });
  const closeListeners: (() => void)[] = [];
  const request = { method: "GET", url: "/v1/records?from=0&follow=true", headers: {}, socket: {} };
  const response = {
    statusCode: 200,
    once: (_: string, listener: () => void) => closeListeners.push(listener),
  };
  await listener(request as unknown as IncomingMessage, response as unknown as ServerResponse);
  closeListeners.forEach((close) => close());
  assertEquals([during, await openTails()], [1, 0]);
  assertEquals(lines.map((line) => [line.level, line.msg]), [["debug", "request"]]);
});
