/**
 * Binding, serving and shutting down the gRPC server.
 * @module
 */
import {
  type ChannelOptions,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { healthService, logService } from "../proto/mod.ts";
import { logHandlers } from "./_grpc.ts";
import { healthHandlers } from "./_health.ts";
import type { Service } from "./_service.ts";
import { tapGrpcServer } from "./_h2_send_window.ts";

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
  /** Waits for in-flight calls up to `graceMs`, then cuts the rest; idempotent. */
  close(graceMs?: number): Promise<void>;
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error) reject(new Error(`Cannot listen on ${address}: ${error.message}`));
      else resolve(port);
    });
  });
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
export async function startGrpcServer(
  service: Service,
  options: GrpcServerOptions,
): Promise<GrpcServer> {
  const messageBytesMax = options.messageBytesMax ?? 8 * 1024 * 1024;
  const server = new Server({
    "grpc.max_receive_message_length": messageBytesMax,
    ...options.channelOptions,
  });
  const handlers = logHandlers(service.context);
  server.addService(logService, options.wrapService?.(logService, handlers) ?? handlers);
  server.addService(healthService, healthHandlers(service.health, service.context.shutdownSignal));
  const credentials = options.credentials ?? ServerCredentials.createInsecure();
  const port = await bind(server, formatAddress(options.host, options.port), credentials);
  if (!tapGrpcServer(server)) {
    service.context.logger.warn(
      "grpc-js internals changed: ConsumeStream relies on write()/'drain' alone for flow control",
    );
  }
  if (service.rpcAddr === "") service.rpcAddr = formatAddress(options.host, port);
  let closed: Promise<void> | null = null;
  const close = (graceMs = 5000) => {
    closed ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.forceShutdown(), graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return closed;
  };
  return { port, close };
}
