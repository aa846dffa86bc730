/** Starts a Service with both servers over a MemoryLog, and stops everything afterwards. */
import {
  type GrpcServer,
  type HttpServer,
  type RequestEvent,
  Service,
  type ServiceDeps,
  startGrpcServer,
  startHttpServer,
} from "../../server/mod.ts";
import { LogClient } from "../../client/mod.ts";
import { credentials, makeGenericClientConstructor, type ServerCredentials } from "@grpc/grpc-js";
import { logService } from "../../proto/mod.ts";
import { MemoryLog } from "./_memory_log.ts";

export interface Harness {
  log: MemoryLog;
  service: Service;
  grpc: GrpcServer;
  http: HttpServer;
  client: LogClient;
  events: RequestEvent[];
  httpUrl: string;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startHarness(
  deps: Partial<ServiceDeps> = {},
  grpcOptions: { credentials?: ServerCredentials } = {},
): Promise<Harness> {
  const log = new MemoryLog(1024);
  const events: RequestEvent[] = [];
  const service = new Service({ log, observe: (event) => events.push(event), ...deps });
  const grpc = await startGrpcServer(service, { host: "127.0.0.1", port: 0, ...grpcOptions });
  const http = await startHttpServer(service, { host: "127.0.0.1", port: 0 });
  service.setServing();
  const client = new LogClient(`127.0.0.1:${grpc.port}`);
  return {
    log,
    service,
    grpc,
    http,
    client,
    events,
    httpUrl: `http://127.0.0.1:${http.port}`,
    async [Symbol.asyncDispose]() {
      client.close();
      service.beginShutdown();
      log.waiters.close();
      await Promise.all([grpc.close(1000), http.close(1000)]);
    },
  };
}

/** A bare grpc-js client of log.v1.Log, for requests the typed client cannot build. */
export function rawClient(port: number) {
  const Stub = makeGenericClientConstructor(logService, "Log");
  // deno-lint-ignore no-explicit-any
  const stub = new Stub(`127.0.0.1:${port}`, credentials.createInsecure()) as any;
  return {
    // deno-lint-ignore no-explicit-any
    stub: stub as Record<string, (...args: any[]) => any>,
    call(method: string, request: unknown): Promise<unknown> {
      return new Promise((resolve, reject) => {
        stub[method](
          request,
          (error: unknown, value: unknown) => error ? reject(error) : resolve(value),
        );
      });
    },
    close: () => stub.close(),
  };
}
