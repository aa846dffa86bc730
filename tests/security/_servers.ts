/**
 * Small gRPC and HTTPS servers built with the security config builders, standing in for
 * `server/`: each call is authenticated (certificate CN) and authorized (ACL), and an
 * {@linkcode AuthorizationError} becomes PERMISSION_DENIED / 403 as `server/` maps it.
 */
import { Buffer } from "node:buffer";
import https from "node:https";
import type { IncomingMessage } from "node:http";
import * as grpc from "@grpc/grpc-js";
import {
  type Action,
  AuthorizationError,
  type ClientTlsMaterial,
  grpcChannelCredentials,
  httpsClientOptions,
  type SecurityState,
  subjectOfGrpcCall,
  subjectOfHttpsRequest,
} from "../../security/mod.ts";

const identity = (value: Buffer) => value;
const method = (name: string) => ({
  path: `/strand.test.Guarded/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const SERVICE = {
  produce: method("Produce"),
  consume: method("Consume"),
} as grpc.ServiceDefinition;

/** A running gRPC server; `stop` releases everything. */
export interface GrpcTestServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a gRPC server on 127.0.0.1:0 whose two methods need `produce` / `consume`. */
export async function startGrpcServer(
  security: Pick<SecurityState, "authorize" | "grpcServerCredentials">,
): Promise<GrpcTestServer> {
  const server = new grpc.Server();
  const handler = (action: Action): grpc.handleUnaryCall<Buffer, Buffer> => (call, callback) => {
    const subject = subjectOfGrpcCall(call);
    try {
      security.authorize(subject, action);
    } catch (error) {
      if (!(error instanceof AuthorizationError)) throw error;
      callback({ code: grpc.status.PERMISSION_DENIED, details: error.message });
      return;
    }
    callback(null, Buffer.from(subject));
  };
  server.addService(SERVICE, { produce: handler("produce"), consume: handler("consume") });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      security.grpcServerCredentials(),
      (error, bound) => error ? reject(error) : resolve(bound),
    )
  );
  return {
    port,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** What a call returned: the subject the server saw, or the gRPC error. */
export type CallResult = { subject: string } | { code: number; details: string };

/** Calls `Produce` or `Consume` once on a fresh channel, then closes it. */
export async function callGrpc(
  port: number,
  action: "produce" | "consume",
  credentials: grpc.ChannelCredentials,
  dial: { host?: string; channelOptions?: grpc.ChannelOptions } = {},
): Promise<CallResult> {
  const Client = grpc.makeGenericClientConstructor(SERVICE, "Guarded");
  const address = `${dial.host ?? "localhost"}:${port}`;
  const client = new Client(address, credentials, dial.channelOptions ?? {});
  try {
    return await new Promise<CallResult>((resolve) => {
      const deadline = new Date(Date.now() + 10_000);
      type UnaryMethod = (
        request: Buffer,
        options: grpc.CallOptions,
        callback: (error: grpc.ServiceError | null, value?: Buffer) => void,
      ) => void;
      const call = (client as unknown as Record<string, UnaryMethod>)[action]!;
      call.call(client, Buffer.from("x"), { deadline }, (error, value) => {
        resolve(error ? { code: error.code, details: error.details } : { subject: String(value) });
      });
    });
  } finally {
    client.close();
  }
}

/** Channel credentials for a client with the given material. */
export function tlsCredentials(material: ClientTlsMaterial): grpc.ChannelCredentials {
  return grpcChannelCredentials(material);
}

/** A running HTTPS server; `stop` releases everything. */
export interface HttpsTestServer {
  readonly port: number;
  readonly server: https.Server;
  stop(): Promise<void>;
}

/** Starts an HTTPS server on 127.0.0.1:0: POST /produce needs produce, GET /consume consume. */
export async function startHttpsServer(
  security: SecurityState,
  options: { attach?: boolean } = {},
): Promise<HttpsTestServer> {
  const serverOptions = security.httpsServerOptions();
  if (serverOptions === undefined) throw new Error("the HTTPS test server needs TLS material");
  const server = https.createServer(serverOptions, (request: IncomingMessage, response) => {
    const action: Action = request.url === "/produce" ? "produce" : "consume";
    try {
      security.authorize(subjectOfHttpsRequest(request), action);
    } catch (error) {
      if (!(error instanceof AuthorizationError)) throw error;
      response.writeHead(403).end(error.message);
      return;
    }
    response.writeHead(200).end(subjectOfHttpsRequest(request));
  });
  // attach: false leaves reloads to the SNICallback of the options, as `serve` does.
  const detach = options.attach === false ? () => {} : security.attachHttpsServer(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    server,
    stop: () => {
      detach();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** What an HTTPS request returned: status and body, or the connection error. */
export type HttpsResult = { status: number; body: string } | { error: string };

/** One HTTPS request to localhost without connection reuse. */
export function callHttps(
  port: number,
  path: "/produce" | "/consume",
  material: ClientTlsMaterial,
): Promise<HttpsResult> {
  return new Promise((resolve) => {
    const request = https.request(
      { ...httpsClientOptions(material), host: "localhost", port, path, agent: false },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => body += chunk);
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on("error", (error) => resolve({ error: error.message }));
    request.end();
  });
}
