/**
 * The client-facing service of a Strand node: the `log.v1.Log` gRPC API with the standard
 * health service, and the JSON/HTTP API. Everything the node provides comes in through
 * {@linkcode ServiceDeps} (log, logger, authorizer, request observer), and transport security
 * through the server options, so security/ and observe/ plug in without touching handlers.
 *
 * @example
 * ```ts
 * const service = new Service({ log });
 * const grpc = await startGrpcServer(service, { host: "127.0.0.1", port: 8400 });
 * const api = await startHttpServer(service, { host: "127.0.0.1", port: 8402 });
 * service.setServing();
 * // … later, in reverse:
 * service.beginShutdown();
 * await Promise.all([grpc.close(), api.close()]);
 * ```
 * @module
 */
export type {
  Action,
  AdminHooks,
  AdminOutcome,
  AdminRefusalCode,
  AppendAck,
  Authorize,
  ClusterHooks,
  CommitLog,
  LeaderInfo,
  Logger,
  ProducerRef,
  RequestEvent,
  RequestObserver,
  ServedRecord,
  ServerInfo,
  ServiceDeps,
} from "./_types.ts";
export { FORWARDED_METADATA_KEY, LEADER_ADDR_KEY, LEADER_ID_KEY, silentLogger } from "./_types.ts";
export { Service } from "./_service.ts";
export type { ServiceContext } from "./_context.ts";
export {
  concurrentStreamsMaxDefault,
  type GrpcServer,
  type GrpcServerOptions,
  startGrpcServer,
} from "./_grpc_server.ts";
export {
  peerAlpn,
  type PeerCertificateInfo,
  type PeerConnection,
  type PeerInfo,
  peerPreamble,
} from "./_rpc_listener.ts";
export { peerDialer } from "./_peer_dial.ts";
export { ConnectionStats, descriptorLimit } from "./_conn_limits.ts";
export { type HttpServer, type HttpServerOptions, startHttpServer } from "./_http_server.ts";
export type { HttpHandler } from "./_http_routes.ts";
export { type OpsServer, type OpsServerOptions, startOpsServer } from "./_ops_server.ts";
export { OffsetWaiters } from "./_waiters.ts";
export { ServiceError } from "./_errors.ts";
export { HealthState } from "./_health.ts";
export { STRAND_VERSION } from "./_version.ts";
