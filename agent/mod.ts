/**
 * Wires one Strand node together: the log, the CommitLog the server serves, the gRPC and
 * HTTP servers. Setup is an ordered list of steps; shutdown runs the steps' undo actions in
 * reverse, and a failing step unwinds the ones already done (CONTRIBUTING.md, convention 2).
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
import { type LogOptions, openLog, type RecoveryEvent, resolveLogOptions } from "../log/mod.ts";
import {
  type Authorize,
  type HttpHandler,
  type Logger,
  type PeerInfo,
  type RequestObserver,
  Service,
  silentLogger,
  startGrpcServer,
  startHttpServer,
  startOpsServer,
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
import type { ProducerTableOptions } from "./_producers.ts";
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import type { FileLog } from "../log/mod.ts";
import type { PeerStream } from "../raft/mod.ts";
import { Cluster, RAFT_STATE_FILE } from "./_cluster.ts";
import { Forwarder } from "./_forward.ts";
import { registerClusterMetrics } from "./_cluster_metrics.ts";
import { adminHooks, countingLog, RecordCounters, StatusFetcher } from "./_status.ts";
import { STRAND_VERSION } from "../server/mod.ts";
import {
  registerRetentionMetrics,
  type RetentionLimits,
  scheduleClusterRetention,
} from "./_retention.ts";

export { ClusterStartError } from "./_cluster.ts";
/** The TLS server name peers are verified as (Deno refuses an IP as server name). */
export const PEER_SERVER_NAME = "localhost";

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
  /** Gossip address announced to members when it differs from the bound one (NAT, proxy). */
  advertiseAddr?: string;
  /** RPC address announced to members when it differs from the bound one (NAT, proxy). */
  advertiseRpcAddr?: string;
  /** Credentials for forwarding produce requests to the leader's gRPC port. */
  forwardCredentials?: ChannelCredentials;
  /** Dials peers' Raft ports (mutual TLS when configured). */
  dialPeer?: (address: string) => Promise<PeerStream>;
  /** Peer TLS server credentials for peer connections on the RPC port (mutual TLS). */
  peerCredentials?: ServerCredentials;
  /** Channel options for forwarding (e.g. the TLS server name to verify the leader as). */
  forwardChannelOptions?: ChannelOptions;
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
  /**
   * The operations listener (plain HTTP: /healthz, /readyz and, with `metrics`, /metrics).
   * With TLS on the HTTP API, /metrics is served only here. Absent: no such listener.
   */
  ops?: { host: string; port: number };
  /** Extra HTTP routes, e.g. "GET /metrics". */
  httpRoutes?: Record<string, HttpHandler>;
  /** How long shutdown waits for in-flight requests before cutting them. Default 5000. */
  shutdownGraceMs?: number;
  /**
   * How often age retention runs while the log is idle (the log applies retention when it
   * rolls a segment; a quiet log would otherwise keep expired segments). Default: a tenth of
   * `log.retentionMs`, between 1 s and 60 s. Unused without `log.retentionMs`. In a cluster
   * the agent runs all retention on this timer (default also at most 1 s under
   * `log.retentionBytes`), never beyond the applied index.
   */
  retentionCheckMs?: number;
  /**
   * Bounds of the producer table behind exactly-once produce (docs/exactly-once.md): batches
   * remembered per producer (default 5) and producers remembered (default 100,000).
   */
  producers?: ProducerTableOptions;
}

/** A running node. */
export interface Agent {
  /** The bound gRPC port. */
  readonly rpcPort: number;
  /** The bound HTTP port. */
  readonly httpPort: number;
  /** The bound operations port (undefined without `ops`). */
  readonly opsPort: number | undefined;
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

/**
 * Logs what the log's recovery found (a kept damaged range at error: acknowledged records
 * read DATA_LOSS; a cut torn tail and a rebuilt index at warn), then counts it.
 */
function logRecovery(
  logger: Logger,
  count: ((event: RecoveryEvent) => void) | undefined,
): (event: RecoveryEvent) => void {
  return (event) => {
    const { message, ...fields } = event;
    if (event.kind === "corrupt") logger.error(message, fields);
    else logger.warn(message, fields);
    count?.(event);
  };
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

/**
 * /metrics on the data port only without TLS: once clients need certificates, any certificate
 * from the CA could scrape it, so it moves to the operations listener (`ops`).
 */
function dataPortMetrics(config: AgentConfig) {
  return config.metrics && !config.httpTls ? metricsRoutes(config.metrics) : {};
}

/** Whether the node runs in a cluster: asked to, or it was a member before. */
async function isClustered(config: AgentConfig): Promise<boolean> {
  const cluster = config.cluster;
  if (cluster === undefined) return false;
  if (cluster.bootstrap || cluster.joinAddrs.length > 0) return true;
  try {
    await Deno.stat(`${config.dataDir}/${RAFT_STATE_FILE}`);
    return true;
  } catch {
    // Missing: never a member. Unreadable: opening the log reports the data dir's problem.
    return false;
  }
}

/**
 * Log options for a cluster member: the log's own retention never runs under Raft (it would
 * delete on its own schedule, entries not yet committed or applied); the agent runs it.
 */
function clusterLogOptions(config: AgentConfig): LogOptions {
  const { retentionBytes: _bytes, retentionMs: _ms, ...rest } = config.log ?? {};
  return rest;
}

/** The operator's retention limits, or null when every record is kept. */
function retentionLimits(config: AgentConfig): RetentionLimits | null {
  const { retentionBytes, retentionMs } = config.log ?? {};
  if (retentionBytes === undefined && retentionMs === undefined) return null;
  return {
    ...(retentionBytes !== undefined ? { retentionBytes } : {}),
    ...(retentionMs !== undefined ? { retentionMs } : {}),
  };
}

/**
 * How often a cluster member runs retention: `retentionCheckMs`, else a tenth of
 * `retentionMs` (1 s to 60 s), and every second under a byte limit.
 */
function clusterRetentionEveryMs(config: AgentConfig, limits: RetentionLimits): number {
  if (config.retentionCheckMs !== undefined) return config.retentionCheckMs;
  const byAgeMs = limits.retentionMs === undefined
    ? 60_000
    : Math.min(Math.max(limits.retentionMs / 10, 1000), 60_000);
  return limits.retentionBytes === undefined ? byAgeMs : Math.min(byAgeMs, 1000);
}

interface Storage {
  log: FileLog;
  commitLog: LocalCommitLog | Cluster["commitLog"];
  cluster: Cluster | null;
  undo: Undo;
}

/** What Raft must know of the log: whether it syncs each append, and its batch limit. */
function raftLimits(
  options: LogOptions | undefined,
): { fsyncMode: FsyncMode; batchBytesMax: number } {
  const resolved = resolveLogOptions(options);
  return { fsyncMode: resolved.fsync.mode, batchBytesMax: resolved.batchBytesMax };
}

type FsyncMode = "always" | "interval" | "never";

/** Opens the log and, in a cluster, starts Raft on it. */
async function openStorage(
  config: AgentConfig,
  logger: Logger,
  observer: NonNullable<LogOptions["observer"]>,
): Promise<Storage> {
  const clustered = await isClustered(config);
  const logOptions = clustered ? clusterLogOptions(config) : config.log;
  const log: FileLog = await openLog(`${config.dataDir}/log`, { ...logOptions, observer });
  config.metrics?.registerLogStats(() => log.stats());
  if (!clustered) {
    const local = new LocalCommitLog(log, {
      durable: resolveLogOptions(logOptions).fsync.mode === "always",
      ...(config.producers ? { producers: config.producers } : {}),
    });
    if (local.unreadableEntries > 0) {
      logger.warn(
        "producer table: damaged entries were skipped; a retry of a batch among them would be appended again",
        { entries: local.unreadableEntries },
      );
    }
    const stopRetention = scheduleRetention(log, config, logger);
    const undo = async () => {
      stopRetention();
      local.close();
      await log.close();
    };
    return { log, commitLog: local, cluster: null, undo };
  }
  const settings = config.cluster!;
  const forwarder = new Forwarder({
    ...(settings.forwardCredentials ? { credentials: settings.forwardCredentials } : {}),
    ...(settings.forwardChannelOptions ? { channelOptions: settings.forwardChannelOptions } : {}),
  });
  let cluster: Cluster;
  try {
    cluster = await Cluster.open(log, {
      nodeName: config.nodeName,
      dataDir: config.dataDir,
      bindHost: config.bindHost,
      gossipPort: settings.gossipPort,
      joinAddrs: settings.joinAddrs,
      gossipKey: settings.gossipKey,
      ...(settings.advertiseAddr ? { advertiseAddr: settings.advertiseAddr } : {}),
      logger,
      forwarder,
      ...(settings.dialPeer ? { dialPeer: settings.dialPeer } : {}),
      ...(settings.tickMs ? { tickMs: settings.tickMs } : {}),
      ...raftLimits(logOptions),
      ...(config.producers ? { producers: config.producers } : {}),
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  const limits = retentionLimits(config);
  const member = cluster;
  const retention = limits === null ? null : scheduleClusterRetention(
    log,
    limits,
    () => member.status().appliedIndex,
    { everyMs: clusterRetentionEveryMs(config, limits), logger },
  );
  if (retention !== null && config.metrics) registerRetentionMetrics(config.metrics, retention);
  const undo = async () => {
    await retention?.stop();
    forwarder.close();
    await cluster.close();
    await log.close();
  };
  return { log, commitLog: cluster.commitLog, cluster, undo };
}

/** A cluster member takes peer (Raft) connections on its RPC port. */
function peerOptions(cluster: Cluster | null, settings: ClusterConfig | undefined) {
  if (cluster === null) return {};
  return {
    onPeerConnection: (stream: PeerStream, info: PeerInfo) =>
      cluster.acceptPeer(stream, info.certificate?.commonName ?? ""),
    ...(settings?.peerCredentials ? { peerCredentials: settings.peerCredentials } : {}),
  };
}

/** Starts a node; resolves once it serves (health SERVING). */
export async function startAgent(config: AgentConfig): Promise<Agent> {
  const logger = config.logger ?? silentLogger;
  const graceMs = config.shutdownGraceMs ?? 5000;
  let commitLog: LocalCommitLog | Cluster["commitLog"] | undefined;
  let cluster: Cluster | null = null;
  let fileLog: FileLog | undefined;
  let service: Service | undefined;
  const counters = new RecordCounters();
  let rpcPort = 0;
  let httpPort = 0;
  let opsPort: number | undefined;
  const undos = await runSteps([
    async () => {
      const metrics = config.metrics;
      const traced = metrics ? withGroupCommitSpans(metrics.logObserver) : undefined;
      const observer = { ...traced, onRecovery: logRecovery(logger, traced?.onRecovery) };
      const storage = await openStorage(config, logger, observer);
      commitLog = storage.commitLog;
      cluster = storage.cluster;
      fileLog = storage.log;
      return storage.undo;
    },
    () => {
      const metrics = config.metrics;
      const observe = config.observe ??
        (metrics ? new RequestMetrics({ logger, metrics }).record : undefined);
      const counted = countingLog(commitLog!, counters);
      service = new Service({
        log: metrics ? observeCommitLog(counted, { metrics }) : counted,
        logger,
        ...(config.authorize ? { authorize: config.authorize } : {}),
        ...(observe ? { observe } : {}),
        ...(cluster ? { cluster: cluster.hooks(), servers: () => cluster!.servers() } : {}),
      }, { nodeId: config.nodeName });
      const fetcher = new StatusFetcher({
        ...(config.cluster?.forwardCredentials
          ? { credentials: config.cluster.forwardCredentials }
          : {}),
        ...(config.cluster?.forwardChannelOptions
          ? { channelOptions: config.cluster.forwardChannelOptions }
          : {}),
      });
      const httpHost = config.bindHost.includes(":") ? `[${config.bindHost}]` : config.bindHost;
      service.admin = adminHooks({
        name: config.nodeName,
        rpcAddr: () => config.cluster?.advertiseRpcAddr ?? service!.rpcAddr,
        httpAddr: () => httpPort === 0 ? null : `${httpHost}:${httpPort}`,
        log: fileLog!,
        cluster,
        counters,
        version: STRAND_VERSION,
      }, fetcher);
      const context = service.context;
      metrics?.gauge({
        name: "strand_consume_streams_waiting",
        help: "Streams paused because their client has not read what they sent (window or " +
          "the server's per-connection socket bound).",
        collect() {
          this.set(context.streamsWaitingForClient);
        },
      });
      const producers = () => commitLog!.producers;
      metrics?.gauge({
        name: "strand_producers",
        help: "Producers the exactly-once table remembers (bounded; see docs/exactly-once.md).",
        collect() {
          this.set(producers().size);
        },
      });
      metrics?.gauge({
        name: "strand_producers_evicted",
        help: "Producers forgotten since start to stay within the table's bound (a retry of " +
          "their last batch would be appended again).",
        collect() {
          this.set(producers().evictions);
        },
      });
      metrics?.gauge({
        name: "strand_malformed_requests",
        help: "gRPC requests refused (INVALID_ARGUMENT) since start: no valid protobuf message.",
        collect() {
          this.set(context.malformedRequests);
        },
      });
      metrics?.gauge({
        name: "strand_connections_open",
        help: "Connections open now, by listener (rpc, http).",
        labelNames: ["listener"],
        collect() {
          for (const [name, stats] of context.connectionStats) {
            this.set({ listener: name }, stats.open);
          }
        },
      });
      metrics?.gauge({
        name: "strand_connections_dropped",
        help: "Connections closed or not accepted since start, by listener and reason " +
          "(cap, handshake_timeout, unknown_protocol, accept_error, idle).",
        labelNames: ["listener", "reason"],
        collect() {
          for (const [listener, s] of context.connectionStats) {
            this.set({ listener, reason: "cap" }, s.refusedAtCap);
            this.set({ listener, reason: "handshake_timeout" }, s.handshakeTimeouts);
            this.set({ listener, reason: "unknown_protocol" }, s.unknownProtocol);
            this.set({ listener, reason: "accept_error" }, s.acceptErrors);
            this.set({ listener, reason: "idle" }, s.idleClosed);
          }
        },
      });
      return Promise.resolve(() => {
        service!.beginShutdown();
        fetcher.close();
      });
    },
    async () => {
      // Before the data ports and closed after them: /readyz says 503 while they drain.
      if (!config.ops) {
        if (config.httpTls && config.metrics) {
          logger.warn(
            "/metrics is not served: with TLS on it is served only on the operations " +
              "listener; set --ops-addr (e.g. 0.0.0.0:8403) for probes and Prometheus",
          );
        }
        return () => {};
      }
      const metricsRoute = config.metrics ? metricsRoutes(config.metrics)["GET /metrics"] : null;
      const ops = await startOpsServer({
        ...config.ops,
        health: service!.health,
        routes: metricsRoute ? { "/metrics": metricsRoute } : {},
      });
      opsPort = ops.port;
      return () => ops.close();
    },
    async () => {
      const grpc = await startGrpcServer(service!, {
        host: config.bindHost,
        port: config.rpcPort,
        ...(config.serverCredentials ? { credentials: config.serverCredentials } : {}),
        ...(config.metrics ? { wrapService: tracedService(config.metrics) } : {}),
        ...peerOptions(cluster, config.cluster),
      });
      rpcPort = grpc.port;
      return () => grpc.close(graceMs);
    },
    async () => {
      const http = await startHttpServer(service!, {
        host: config.bindHost,
        port: config.httpPort,
        ...(config.httpTls ? { tls: config.httpTls } : {}),
        ...(config.metrics ? { wrapListener: tracedListener(config.metrics) } : {}),
        routes: { ...dataPortMetrics(config), ...config.httpRoutes },
      });
      httpPort = http.port;
      return () => http.close(graceMs);
    },
    async () => {
      // Announced last: members learn this node's RPC address only once it serves.
      await cluster?.startGossip(config.cluster?.advertiseRpcAddr ?? service!.rpcAddr);
      return () => {};
    },
  ]);
  const member = cluster as Cluster | null;
  if (member === null) service!.setServing();
  else {
    // A member serves health SERVING (and /readyz 200) once it follows a leader and caught up.
    member.onReadiness = (ready) => service!.setReady(ready);
    if (config.metrics) registerClusterMetrics(config.metrics, member);
  }
  let stopped: Promise<void> | null = null;
  return {
    rpcPort,
    httpPort,
    opsPort,
    service: service!,
    cluster: member,
    gossipAddr: member?.gossipAddress ?? "",
    shutdown() {
      // A cluster member first hands over leadership and announces its leave. Then shutdown
      // begins (health NOT_SERVING, streams end), servers drain, Raft and the log close: the
      // reverse of setup, with the service step pulled to the front.
      stopped ??= (async () => {
        await member?.leave().catch((error) =>
          logger.warn("cluster: leaving failed", { error: String(error) })
        );
        service!.beginShutdown();
        await unwind(undos);
      })();
      return stopped;
    },
  };
}
