/**
 * Binding, serving and shutting down the gRPC server.
 * @module
 */
import type { Socket } from "node:net";
import {
  type ChannelOptions,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { adminService, healthService, logService } from "../proto/mod.ts";
import { adminHandlers } from "./_admin.ts";
import { logHandlers } from "./_grpc.ts";
import { healthHandlers } from "./_health.ts";
import type { Service } from "./_service.ts";
import { tapGrpcServer } from "./_h2_send_window.ts";
import type { ConnSocket } from "./_conn_socket.ts";
import { guardDeserializers, malformedRequestInterceptor } from "./_grpc_malformed.ts";
import { type PeerConnection, type PeerInfo, startRpcListener } from "./_rpc_listener.ts";
import {
  connectionsMaxDefault,
  handshakeTimeoutMsDefault,
  rpcConnectionShare,
} from "./_conn_limits.ts";
import type { ConnectionStats } from "./_conn_limits.ts";

/** HTTP/2 streams a client may have open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const concurrentStreamsMaxDefault = 100;
/** A gRPC connection with no stream for this long is closed (GOAWAY; clients reconnect). */
export const connectionIdleMsDefault = 5 * 60_000;

/** Where and how the gRPC server listens. */
export interface GrpcServerOptions {
  /** Host to bind ("127.0.0.1", "0.0.0.0", "localhost"). */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Transport security; insecure when absent (security/ supplies TLS and mTLS). */
  credentials?: ServerCredentials;
  /** Largest request message accepted (default 8 MiB: a 1 MiB record plus batches). */
  messageBytesMax?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /**
   * Open connections kept at most (clients and peers); more are closed at once, counted and
   * logged. Default: 45 % of the descriptor limit read at start (1024 assumed if unknown).
   */
  connectionsMax?: number;
  /** Time a new connection has to identify itself and finish TLS. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  concurrentStreamsMax?: number;
  /** Receives peer (Raft) connections on the RPC port; absent: they are refused. */
  onPeerConnection?: (stream: PeerConnection, info: PeerInfo) => void;
  /** Peer TLS credentials (mutual TLS against the peer CA); absent: plaintext peers. */
  peerCredentials?: ServerCredentials;
  /**
   * Wraps the `log.v1.Log` handlers before they are registered (observe/'s
   * `traceGrpcService`: a span per call). Health checks are not wrapped.
   */
  wrapService?: (
    definition: ServiceDefinition,
    implementation: UntypedServiceImplementation,
  ) => UntypedServiceImplementation;
}

/** A listening gRPC server. */
export interface GrpcServer {
  /** The bound port. */
  readonly port: number;
  /** What the RPC port's listener counts (open, refused at the cap, accept errors…). */
  readonly connections: ConnectionStats;
  /**
   * Bytes over the open gRPC connections: handed to the sockets and not yet taken by the
   * kernel (under TLS: ciphertext; the TLS layer's own queue is not in it), and taken.
   */
  socketBytes(): { unflushed: number; flushed: number };
  /** Waits for in-flight calls up to `graceMs`, then cuts the rest; idempotent. */
  close(graceMs?: number): Promise<void>;
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Starts the gRPC server of `service` (the `log.v1.Log` and health services).
 *
 * @example
 * ```ts
 * const service = new Service({ log });
 * const grpc = await startGrpcServer(service, { host: "127.0.0.1", port: 0 });
 * service.setServing();
 * ```
 */
export function startGrpcServer(
  service: Service,
  options: GrpcServerOptions,
): Promise<GrpcServer> {
  try {
    return Promise.resolve(serve(service, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

function serve(service: Service, options: GrpcServerOptions): GrpcServer {
  const messageBytesMax = options.messageBytesMax ?? 8 * 1024 * 1024;
  const server = new Server({
    "grpc.max_receive_message_length": messageBytesMax,
    "grpc.max_concurrent_streams": options.concurrentStreamsMax ?? concurrentStreamsMaxDefault,
    "grpc.max_connection_idle_ms": connectionIdleMsDefault,
    ...options.channelOptions,
    interceptors: [malformedRequestInterceptor(service.context)],
  });
  const handlers = logHandlers(service.context);
  const log = guardDeserializers(logService);
  server.addService(log, options.wrapService?.(log, handlers) ?? handlers);
  // JSON messages: their deserializer never throws (malformed bodies are refused in handlers).
  server.addService(adminService, adminHandlers(service));
  server.addService(
    guardDeserializers(healthService),
    healthHandlers(service.health, service.context.shutdownSignal),
  );
  const credentials = options.credentials ?? ServerCredentials.createInsecure();
  const injector = server.createConnectionInjector(credentials);
  const sockets = new Set<ConnSocket>();
  let allClosed: (() => void) | null = null;
  const listener = startRpcListener({
    host: options.host,
    port: options.port,
    connectionsMax: options.connectionsMax ?? connectionsMaxDefault(rpcConnectionShare),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? handshakeTimeoutMsDefault,
    logger: service.context.logger,
    grpcTls: credentials._isSecure(),
    onGrpcConnection: (socket) => {
      sockets.add(socket);
      socket.once("close", () => {
        sockets.delete(socket);
        if (sockets.size === 0) allClosed?.();
      });
      injector.injectConnection(socket as unknown as Socket);
    },
    ...(options.onPeerConnection ? { onPeerConnection: options.onPeerConnection } : {}),
    ...(options.peerCredentials ? { peerCredentials: options.peerCredentials } : {}),
  });
  const port = listener.port;
  service.context.connectionStats.set("rpc", listener.listener.stats);
  if (!tapGrpcServer(server)) {
    service.context.logger.warn(
      "grpc-js internals changed: ConsumeStream relies on write()/'drain' alone for flow control",
    );
  }
  if (service.rpcAddr === "") service.rpcAddr = formatAddress(options.host, port);
  let closed: Promise<void> | null = null;
  const close = (graceMs = 5000) => {
    closed ??= listener.close().then(() =>
      new Promise<void>((resolve) => {
        // tryShutdown sends GOAWAY to the injector's sessions too, but on Deno 2.8.3 a
        // session's close callback comes at once: the connections closing is the real end.
        const finish = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          server.forceShutdown();
          for (const socket of sockets) socket.destroy();
          finish();
        }, graceMs);
        allClosed = () => finish();
        server.tryShutdown(() => {
          if (sockets.size === 0) finish();
        });
      })
    );
    return closed;
  };
  const socketBytes = () => {
    let unflushed = 0, flushed = 0;
    for (const socket of sockets) {
      unflushed += socket.unflushedBytes;
      flushed += socket.bytesFlushed;
    }
    return { unflushed, flushed };
  };
  return { port, connections: listener.listener.stats, socketBytes, close };
}
