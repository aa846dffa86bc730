/**
 * Wires one Strand node together: the log, the CommitLog the server serves, the gRPC and
 * HTTP servers. Setup is an ordered list of steps; shutdown runs the steps' undo actions in
 * reverse, and a failing step unwinds the ones already done (STYLE.md §9).
 *
 * @example
 * ```ts
 * const agent = await startAgent({ dataDir: "./data", nodeName: "n1", bindHost: "127.0.0.1",
 *   rpcPort: 8400, httpPort: 8402 });
 * console.log(agent.rpcPort, agent.httpPort);
 * await agent.shutdown();
 * ```
 * @module
 */
import type {
  ServerCredentials,
  ServiceDefinition,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { RequestListener } from "node:http";
import type { ServerOptions as HttpsOptions } from "node:https";
import { type LogOptions, openLog } from "../log/mod.ts";
import {
  type Authorize,
  type HttpHandler,
  type Logger,
  type RequestObserver,
  Service,
  silentLogger,
  startGrpcServer,
  startHttpServer,
} from "../server/mod.ts";
import {
  type Metrics,
  metricsRoutes,
  observeCommitLog,
  RequestObserver as RequestMetrics,
  traceGrpcService,
  traceHttpListener,
  withGroupCommitSpans,
} from "../observe/mod.ts";
import { LocalCommitLog } from "./_local_log.ts";
import type { ChannelCredentials } from "@grpc/grpc-js";
import type { FileLog } from "../log/mod.ts";
import type { PeerStream } from "../raft/mod.ts";
import { Cluster, RAFT_STATE_FILE } from "./_cluster.ts";
import { Forwarder } from "./_forward.ts";

export { ClusterStartError } from "./_cluster.ts";

/** How the node takes part in a cluster (see `strand serve --help`). */
export interface ClusterConfig {
  /** Create a new cluster on an empty data dir (a no-op when Raft state exists). */
  bootstrap: boolean;
  /** Gossip addresses of members to join; a node with them never bootstraps itself. */
  joinAddrs: string[];
  /** Gossip port on `bindHost` (UDP and TCP); 0 picks a free one. */
  gossipPort: number;
  /** The shared gossip key (32 bytes), or null for a key that authenticates nothing. */
  gossipKey: Uint8Array | null;
  /** Credentials for forwarding produce requests to the leader's gRPC port. */
  forwardCredentials?: ChannelCredentials;
  /** Dials peers' Raft ports (mutual TLS when configured). */
  dialPeer?: (address: string) => Promise<PeerStream>;
  /** Listens for peers (mutual TLS when configured). */
  listenPeers?: (
    host: string,
    accept: (stream: PeerStream) => void,
  ) => Promise<{ port: number; close(): void }>;
  /** Raft tick in milliseconds (default the driver's). */
  tickMs?: number;
}

/** Everything a node needs to start. */
export interface AgentConfig {
  /** Data directory; the log lives in `<dataDir>/log`. */
  dataDir: string;
  /** This node's unique name (GetServers id). */
  nodeName: string;
  /** Host the RPC and HTTP servers bind (the host of `--bind-addr`). */
  bindHost: string;
  /** 0 picks a free port. */
  rpcPort: number;
  /** 0 picks a free port. */
  httpPort: number;
  /** Log options (fsync policy, size limits, retention). */
  log?: LogOptions;
  /** Where the node logs (default: nowhere). */
  logger?: Logger;
  /** ACL hook (default: allow everything). */
  authorize?: Authorize;
  /** Called once per finished request (default with `metrics`: request metrics and logs). */
  observe?: RequestObserver;
  /**
   * The node's Prometheus registry. When given, the node serves `GET /metrics`, meters the
   * log (group commits, size, offsets, records and bytes in and out), counts and logs every
   * request, and traces requests (spans reach an exporter when run with OTEL_DENO=true).
   */
  metrics?: Metrics;
  /** gRPC transport security (insecure when absent). */
  serverCredentials?: ServerCredentials;
  /** HTTPS options for the HTTP API (plain HTTP when absent). */
  httpTls?: HttpsOptions;
  /**
   * Cluster settings. The node runs Raft and gossip when `bootstrap` is set, join addresses
   * are given, or the data dir holds Raft state; otherwise it is a single node as before.
   */
  cluster?: ClusterConfig;
  /** Extra HTTP routes, e.g. "GET /metrics". */
  httpRoutes?: Record<string, HttpHandler>;
  /** How long shutdown waits for in-flight requests before cutting them. Default 5000. */
  shutdownGraceMs?: number;
  /**
   * How often age retention runs while the log is idle (the log applies retention when it
   * rolls a segment; a quiet log would otherwise keep expired segments). Default: a tenth of
   * `log.retentionMs`, between 1 s and 60 s. Unused without `log.retentionMs`.
   */
  retentionCheckMs?: number;
}

/** A running node. */
export interface Agent {
  /** The bound gRPC port. */
  readonly rpcPort: number;
  /** The bound HTTP port. */
  readonly httpPort: number;
  /** The service behind both servers (health, shutdown state). */
  readonly service: Service;
  /** The cluster part, when the node runs in a cluster. */
  readonly cluster: Cluster | null;
  /** The bound gossip address ("" on a single node). */
  readonly gossipAddr: string;
  /** Stops in reverse setup order: not serving, drain servers, wake streams, close the log. */
  shutdown(): Promise<void>;
}

type Undo = () => Promise<void> | void;

/** Runs `steps` in order; if one fails, undoes the finished ones in reverse and rethrows. */
async function runSteps(steps: (() => Promise<Undo>)[]): Promise<Undo[]> {
  const undos: Undo[] = [];
  try {
    for (const step of steps) undos.push(await step());
  } catch (error) {
    await unwind(undos);
    throw error;
  }
  return undos;
}

async function unwind(undos: Undo[]): Promise<void> {
  for (const undo of undos.toReversed()) await undo();
}

/** Runs age retention on a timer; returns the function that stops it. */
function scheduleRetention(
  log: { enforceRetention(): Promise<void> },
  config: AgentConfig,
  logger: Logger,
): () => void {
  const retentionMs = config.log?.retentionMs;
  if (retentionMs === undefined) return () => {};
  const everyMs = config.retentionCheckMs ?? Math.min(Math.max(retentionMs / 10, 1000), 60_000);
  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow pass is still going: skip, never pile up
    running = true;
    log.enforceRetention()
      .catch((error) => logger.warn("retention failed", { error: String(error) }))
      .finally(() => running = false);
  }, everyMs);
  return () => clearInterval(timer);
}

/** Spans per call, and open streams counted, for the log service's handlers. */
function tracedService(metrics: Metrics) {
  return (definition: ServiceDefinition, implementation: UntypedServiceImplementation) =>
    traceGrpcService(definition, implementation, { metrics });
}

/** A span per request, and open streams counted, for the HTTP API. */
function tracedListener(metrics: Metrics) {
  return (listener: RequestListener) => traceHttpListener(listener, { metrics });
}

/** Whether the node runs in a cluster: asked to, or it was a member before. */
async function isClustered(config: AgentConfig): Promise<boolean> {
  const cluster = config.cluster;
  if (cluster === undefined) return false;
  if (cluster.bootstrap || cluster.joinAddrs.length > 0) return true;
  try {
    await Deno.stat(`${config.dataDir}/${RAFT_STATE_FILE}`);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Log options for a cluster member: retention is Raft's business, never the log's own. */
function clusterLogOptions(config: AgentConfig, logger: Logger): LogOptions {
  const { retentionBytes, retentionMs, ...rest } = config.log ?? {};
  if (retentionBytes !== undefined || retentionMs !== undefined) {
    logger.warn(
      "retention is not applied in a cluster yet: --retention-bytes and --retention-ms are ignored and every record is kept",
    );
  }
  return rest;
}

interface Parts {
  commitLog?: LocalCommitLog | Cluster["commitLog"];
  cluster: Cluster | null;
  service?: Service;
  rpcPort: number;
  httpPort: number;
}

/** Opens the log and, in a cluster, starts Raft on it. */
async function openStorage(config: AgentConfig, logger: Logger, parts: Parts): Promise<Undo> {
  const metrics = config.metrics;
  const observer = metrics ? { observer: withGroupCommitSpans(metrics.logObserver) } : {};
  const clustered = await isClustered(config);
  const logOptions = clustered ? clusterLogOptions(config, logger) : config.log;
  const log: FileLog = await openLog(`${config.dataDir}/log`, { ...logOptions, ...observer });
  metrics?.registerLogStats(() => log.stats());
  if (!clustered) {
    const local = new LocalCommitLog(log);
    parts.commitLog = local;
    const stopRetention = scheduleRetention(log, config, logger);
    return async () => {
      stopRetention();
      local.close();
      await log.close();
    };
  }
  const settings = config.cluster!;
  const forwarder = new Forwarder(
    settings.forwardCredentials ? { credentials: settings.forwardCredentials } : {},
  );
  let cluster: Cluster;
  try {
    cluster = await Cluster.open(log, {
      nodeName: config.nodeName,
      dataDir: config.dataDir,
      bindHost: config.bindHost,
      gossipPort: settings.gossipPort,
      joinAddrs: settings.joinAddrs,
      gossipKey: settings.gossipKey,
      logger,
      forwarder,
      ...(settings.dialPeer ? { dialPeer: settings.dialPeer } : {}),
      ...(settings.listenPeers ? { listenPeers: settings.listenPeers } : {}),
      ...(settings.tickMs ? { tickMs: settings.tickMs } : {}),
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  parts.cluster = cluster;
  parts.commitLog = cluster.commitLog;
  return async () => {
    forwarder.close();
    await cluster.close();
    await log.close();
  };
}

function createService(config: AgentConfig, logger: Logger, parts: Parts): Service {
  const metrics = config.metrics;
  const observe = config.observe ??
    (metrics ? new RequestMetrics({ logger, metrics }).record : undefined);
  const cluster = parts.cluster;
  const service = new Service({
    log: metrics ? observeCommitLog(parts.commitLog!, { metrics }) : parts.commitLog!,
    logger,
    ...(config.authorize ? { authorize: config.authorize } : {}),
    ...(observe ? { observe } : {}),
    ...(cluster ? { cluster: cluster.hooks(), servers: () => cluster.servers() } : {}),
  }, { nodeId: config.nodeName });
  const context = service.context;
  metrics?.gauge({
    name: "strand_consume_streams_waiting",
    help: "ConsumeStreams paused because their client has not read what they sent.",
    collect() {
      this.set(context.streamsWaitingForClient);
    },
  });
  return service;
}

/** Starts a node; resolves once it serves (health SERVING). */
export async function startAgent(config: AgentConfig): Promise<Agent> {
  const logger = config.logger ?? silentLogger;
  const graceMs = config.shutdownGraceMs ?? 5000;
  const parts: Parts = { cluster: null, rpcPort: 0, httpPort: 0 };
  const undos = await runSteps([
    () => openStorage(config, logger, parts),
    () => {
      parts.service = createService(config, logger, parts);
      return Promise.resolve(() => parts.service!.beginShutdown());
    },
    async () => {
      const grpc = await startGrpcServer(parts.service!, {
        host: config.bindHost,
        port: config.rpcPort,
        ...(config.serverCredentials ? { credentials: config.serverCredentials } : {}),
        ...(config.metrics ? { wrapService: tracedService(config.metrics) } : {}),
      });
      parts.rpcPort = grpc.port;
      return () => grpc.close(graceMs);
    },
    async () => {
      const http = await startHttpServer(parts.service!, {
        host: config.bindHost,
        port: config.httpPort,
        ...(config.httpTls ? { tls: config.httpTls } : {}),
        ...(config.metrics ? { wrapListener: tracedListener(config.metrics) } : {}),
        routes: { ...(config.metrics ? metricsRoutes(config.metrics) : {}), ...config.httpRoutes },
      });
      parts.httpPort = http.port;
      return () => http.close(graceMs);
    },
    async () => {
      // Announced last: members learn this node's RPC address only once it serves.
      await parts.cluster?.startGossip(parts.service!.rpcAddr);
      return () => {};
    },
  ]);
  const service = parts.service!;
  const cluster = parts.cluster;
  service.setServing();
  let stopped: Promise<void> | null = null;
  return {
    rpcPort: parts.rpcPort,
    httpPort: parts.httpPort,
    service,
    cluster,
    gossipAddr: cluster?.gossipAddress ?? "",
    shutdown() {
      // A cluster member first hands over leadership and announces its leave; then shutdown
      // begins (health NOT_SERVING, streams end), servers drain, and Raft and the log close.
      stopped ??= (async () => {
        await cluster?.leave().catch((error) =>
          logger.warn("cluster: leaving failed", { error: String(error) })
        );
        service.beginShutdown();
        await unwind(undos);
      })();
      return stopped;
    },
  };
}
