/**
 * Run by otel_test.ts with OTEL_DENO=true: serves one HTTP route and one gRPC method through
 * RequestObserver, each appending to an observed fake log (log.append, then log.write and
 * log.fsync from its group-commit report), prints its ports as
 * one JSON line on stdout, and exits (flushing its spans over OTLP) when stdin closes.
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  createLogger,
  Metrics,
  observeCommitLog,
  RequestObserver,
  withGroupCommitSpans,
} from "../../observe/mod.ts";
import { echoService } from "./_echo_service.ts";

const logger = createLogger({ level: "debug", format: "json" });
const metrics = new Metrics();
const observer = new RequestObserver({ logger, metrics });
const logObserver = withGroupCommitSpans(metrics.logObserver);

/** Stands in for the log: each append is its own group commit, reported as log/ will. */
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

const httpServer = createServer((req, res) => {
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
await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));

const grpcServer = new grpc.Server();
grpcServer.addService(echoService, {
  echo: (
    call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>,
    callback: grpc.sendUnaryData<Uint8Array>,
  ) => {
    const request = observer.start({ transport: "grpc", method: "Echo", metadata: call.metadata });
    request.run(() => fakeAppend(2)).then(() => {
      callback(null, call.request);
      request.end({ status: grpc.status.OK });
    });
  },
});
const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync(
    "127.0.0.1:0",
    grpc.ServerCredentials.createInsecure(),
    (error, port) => error ? reject(error) : resolve(port),
  )
);

console.log(JSON.stringify({ httpPort: (httpServer.address() as AddressInfo).port, grpcPort }));

// Wait for the parent to close stdin; bounded by the parent's own deadline, which kills us.
for await (const _ of Deno.stdin.readable) { /* drain */ }
grpcServer.forceShutdown();
await new Promise<void>((resolve) => httpServer.close(() => resolve()));
