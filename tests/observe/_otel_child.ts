/**
 * Run by otel_test.ts with OTEL_DENO=true. Serves, over an observed fake log (log.append, then
 * log.write and log.fsync from its group-commit report):
 * - HTTP `POST /v1/records` through `RequestObserver.start` (span, metrics and logs in one);
 * - HTTP `GET /v1/records/{offset}` through `traceHttpListener`, reporting after the fact
 *   with `RequestObserver.record`, as the server's dispatcher does;
 * - gRPC `Echo`, `Fail` and `Tail` through `traceGrpcService`.
 * Prints its ports as one JSON line on stdout and exits (flushing spans) when stdin closes.
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  createLogger,
  Metrics,
  observeCommitLog,
  RequestObserver,
  traceGrpcService,
  traceHttpListener,
  withGroupCommitSpans,
} from "../../observe/mod.ts";
import { echoService } from "./_echo_service.ts";

const logger = createLogger({ level: "debug", format: "json" });
const metrics = new Metrics();
const observer = new RequestObserver({ logger, metrics });
const logObserver = withGroupCommitSpans(metrics.logObserver);

/** Stands in for the log: each append is its own group commit, reported as log/ does. */
const fakeLog = {
  async append(values: Uint8Array[]) {
    await Promise.resolve();
    logObserver.onGroupCommit({ entries: 1, bytes: values.length * 16, writeMs: 0.5, fsyncMs: 1 });
    return { baseOffset: 0 };
  },
  read: (offset: number) => ({ value: new Uint8Array(0), offset, term: 0 }),
  readFrom: () => [],
};
const log = observeCommitLog(fakeLog, { metrics });
const fakeAppend = (records: number) => log.append(new Array(records).fill(new Uint8Array(4)));

async function listen(server: ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

const startServer = createServer((req, res) => {
  const request = observer.start({
    transport: "http",
    method: "POST /v1/records",
    headers: req.headers,
  });
  request.run(() => fakeAppend(1)).then(() => {
    res.writeHead(200).end("{}");
    request.end({ status: 200 });
  });
});

const listenerServer = createServer(traceHttpListener(async (_req, res) => {
  const startedMs = performance.now();
  await fakeAppend(1);
  res.writeHead(200).end("{}");
  const durationMs = performance.now() - startedMs;
  observer.record({
    transport: "http",
    method: "GET /v1/records/{offset}",
    status: "200",
    durationMs,
  });
}));

const grpcServer = new grpc.Server();
grpcServer.addService(
  echoService,
  traceGrpcService(echoService, {
    echo: (
      call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>,
      callback: grpc.sendUnaryData<Uint8Array>,
    ) => {
      fakeAppend(2).then(() => callback(null, call.request));
    },
    fail: (
      _call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>,
      callback: grpc.sendUnaryData<Uint8Array>,
    ) => {
      callback({ code: grpc.status.INTERNAL, details: "Cannot append: disk full" });
    },
    tail: (call: grpc.ServerWritableStream<Uint8Array, Uint8Array>) => {
      fakeAppend(1).then(() => {
        call.write(call.request);
        call.write(call.request);
        call.end();
      });
    },
  }),
);
const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync(
    "127.0.0.1:0",
    grpc.ServerCredentials.createInsecure(),
    (error, port) => error ? reject(error) : resolve(port),
  )
);

const ports = {
  start: await listen(startServer),
  listener: await listen(listenerServer),
  grpc: grpcPort,
};
console.log(JSON.stringify(ports));

// Wait for the parent to close stdin; bounded by the parent's own deadline, which kills us.
for await (const _ of Deno.stdin.readable) { /* drain */ }
grpcServer.forceShutdown();
await new Promise<void>((resolve) => startServer.close(() => resolve()));
await new Promise<void>((resolve) => listenerServer.close(() => resolve()));
