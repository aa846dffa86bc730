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
import { type LogOptions, openLog, type RecoveryEvent } from "../log/mod.ts";
import {
  type Authorize,
  type HttpHandler,
  type Logger,
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
  /** The bound operations port (undefined without `ops`). */
  readonly opsPort: number | undefined;
  /** The service behind both servers (health, shutdown state). */
  readonly service: Service;
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

/** Starts a node; resolves once it serves (health SERVING). */
export async function startAgent(config: AgentConfig): Promise<Agent> {
  const logger = config.logger ?? silentLogger;
  const graceMs = config.shutdownGraceMs ?? 5000;
  let commitLog: LocalCommitLog | undefined;
  let service: Service | undefined;
  let rpcPort = 0;
  let httpPort = 0;
  let opsPort: number | undefined;
  const undos = await runSteps([
    async () => {
      const metrics = config.metrics;
      const traced = metrics ? withGroupCommitSpans(metrics.logObserver) : undefined;
      const observer = { ...traced, onRecovery: logRecovery(logger, traced?.onRecovery) };
      const log = await openLog(`${config.dataDir}/log`, { ...config.log, observer });
      metrics?.registerLogStats(() => log.stats());
      commitLog = new LocalCommitLog(log);
      const stopRetention = scheduleRetention(log, config, logger);
      return async () => {
        stopRetention();
        commitLog!.close();
        await log.close();
      };
    },
    () => {
      const metrics = config.metrics;
      const observe = config.observe ??
        (metrics ? new RequestMetrics({ logger, metrics }).record : undefined);
      service = new Service({
        log: metrics ? observeCommitLog(commitLog!, { metrics }) : commitLog!,
        logger,
        ...(config.authorize ? { authorize: config.authorize } : {}),
        ...(observe ? { observe } : {}),
      }, { nodeId: config.nodeName });
      const context = service.context;
      metrics?.gauge({
        name: "strand_consume_streams_waiting",
        help: "Streams paused because their client has not read what they sent (window or " +
          "the server's per-connection socket bound).",
        collect() {
          this.set(context.streamsWaitingForClient);
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
      return Promise.resolve(() => service!.beginShutdown());
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
  ]);
  service!.setServing();
  let stopped: Promise<void> | null = null;
  return {
    rpcPort,
    httpPort,
    opsPort,
    service: service!,
    shutdown() {
      // Begin shutdown first (health NOT_SERVING, streams end), then drain servers, then
      // close the log: the reverse of setup, with the service step pulled to the front.
      service!.beginShutdown();
      stopped ??= unwind(undos);
      return stopped;
    },
  };
}
