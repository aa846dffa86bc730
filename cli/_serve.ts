/**
 * `strand serve`: runs a node until SIGINT/SIGTERM, then stops it gracefully.
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Agent,
  type ClusterConfig,
  ClusterStartError,
  PEER_SERVER_NAME,
  startAgent,
} from "../agent/mod.ts";
import { DiscoveryError, parseGossipKey } from "../discovery/mod.ts";
import { peerDialer } from "../server/mod.ts";
import { type RawSettings, readConfigFile, readEnv, type ServeKey, serveKeys } from "./_config.ts";
import { CliError, dataDirError } from "./_errors.ts";
import { SHIPPED_WRITE_PATHS } from "./_permissions.ts";
import { createLogger, Metrics, redactSecrets } from "../observe/mod.ts";
import type { Logger } from "../server/mod.ts";
import { SecurityError, SecurityState } from "../security/mod.ts";
import { resolveServeSettings, type ServeSettings } from "./_serve_settings.ts";

/** Help text of `serve`. */
export const SERVE_HELP = `Usage: strand serve [options]

Runs a Strand node: the gRPC API on --rpc-port and the JSON/HTTP API on --http-port, both on
the host of --bind-addr. Stops gracefully on SIGINT/SIGTERM.

Settings come from (later wins): defaults, --config-file (YAML or JSON, keys are the flag
names), STRAND_* environment variables (STRAND_DATA_DIR, ...), flags.

Options:
  --config-file FILE        YAML/JSON settings file
  --data-dir DIR            data directory (default ./data)
  --node-name NAME          this node's unique name (default: host name)
  --bind-addr HOST:PORT     gossip address; its host is also the RPC/HTTP host
                            (default 127.0.0.1:8401)
  --rpc-port PORT           gRPC port (default 8400; 0 = any free port)
  --http-port PORT          JSON/HTTP port (default 8402; 0 = any free port)
  --ops-addr HOST:PORT      operations listener, plain HTTP without client certificates:
                            only /healthz, /readyz and /metrics (default: none; with TLS
                            on, /metrics is served only there)
  --fsync POLICY            always | interval=<ms> | never (default always)
  --segment-bytes-max N     roll segments at N bytes (default 64 MiB)
  --record-bytes-max N      largest record accepted (default 1 MiB)
  --retention-bytes N       delete the oldest segments beyond N bytes (default: keep all)
  --retention-ms N          delete segments older than N ms (default: keep all)
  --log-level LEVEL         debug | info | warn | error (default info)
  --log-format FORMAT       json | text (default: json, text when stderr is a terminal)
  --bootstrap               start a new cluster on an empty data dir (a no-op when the
                            dir already belongs to a cluster, so the node can restart)
  --advertise-addr HOST:PORT, --advertise-rpc-addr HOST:PORT
                            gossip and RPC addresses announced to the other members
                            when they differ from the bound ones (NAT, proxies)
  --start-join-addrs LIST   gossip addresses (--bind-addr) of members to join; a node
                            with them never starts a cluster of its own
  --server-tls-cert-file FILE, --server-tls-key-file FILE
                            TLS on the gRPC and HTTP ports (without: plaintext, no auth)
  --server-tls-ca-file FILE require client certificates from this CA (mutual TLS); the
                            subject is the certificate's Common Name
  --acl-model-file FILE, --acl-policy-file FILE
                            Casbin ACL (the book's files): produce/consume per subject;
                            TLS and ACL files reload on SIGHUP and when they change
  --peer-tls-cert-file FILE, --peer-tls-key-file FILE, --peer-tls-ca-file FILE
                            mutual TLS between nodes (Raft, on the RPC port, and forwarded
                            writes); peers are verified as "localhost" against the peer CA
  --gossip-key-file FILE    base64 32-byte key that encrypts and authenticates gossip
                            (required in a TLS cluster unless --insecure-gossip)
  --insecure-gossip         accept unauthenticated gossip in a TLS cluster
  -h, --help                this text
`;

function parseFlags(args: string[]): RawSettings {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [key, kind] of Object.entries(serveKeys)) {
    options[key] = kind === "boolean"
      ? { type: "boolean" }
      : kind === "list"
      ? { type: "string", multiple: true }
      : { type: "string" };
  }
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return values as RawSettings;
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n(see strand serve --help)`);
  }
}

/** Collects settings from every source; flags win over env, env over the file. */
export async function collectSettings(args: string[]): Promise<ServeSettings> {
  const flags = parseFlags(args);
  const env = readEnv();
  const file = (flags["config-file"] ?? env["config-file"]) as string | undefined;
  const fromFile = file ? await readConfigFile(file) : {};
  const merged: RawSettings = { ...fromFile, ...env };
  for (const [key, value] of Object.entries(flags)) {
    if (value !== undefined) merged[key as ServeKey] = value;
  }
  return resolveServeSettings(merged);
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const signals = ["SIGINT", "SIGTERM"] as const;
    const handlers = signals.map((signal) => {
      const handler = () => {
        signals.forEach((s, i) => Deno.removeSignalListener(s, handlers[i]!));
        resolve(signal);
      };
      Deno.addSignalListener(signal, handler);
      return handler;
    });
  });
}

/** Loads TLS and ACL files (a broken file stops the start) and says what is insecure. */
async function loadSecurity(settings: ServeSettings, logger: Logger): Promise<SecurityState> {
  let security: SecurityState;
  try {
    security = await SecurityState.load(settings.security, { logger });
  } catch (error) {
    if (error instanceof SecurityError) throw new CliError(error.message, 1);
    throw error;
  }
  for (const warning of security.insecureWarnings()) logger.warn(warning);
  return security;
}

async function start(
  settings: ServeSettings,
  security: SecurityState,
  logger: Logger,
  metrics: Metrics,
): Promise<Agent> {
  const httpTls = security.httpsServerOptions();
  try {
    return await startAgent({
      dataDir: settings.dataDir,
      nodeName: settings.nodeName,
      bindHost: settings.bindHost,
      rpcPort: settings.rpcPort,
      httpPort: settings.httpPort,
      ...(settings.ops ? { ops: settings.ops } : {}),
      log: settings.log,
      cluster: await clusterConfig(settings, security, logger),
      logger,
      metrics,
      serverCredentials: security.grpcServerCredentials(),
      ...(httpTls ? { httpTls } : {}),
      ...(security.aclEnabled ? { authorize: security.can.bind(security) } : {}),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = (error as Error).message ?? "";
    if (
      code === "LOCKED" || code === "EADDRINUSE" || message.startsWith("Cannot listen") ||
      error instanceof ClusterStartError || error instanceof DiscoveryError
    ) {
      throw new CliError((error as Error).message, 1);
    }
    throw dataDirError(error, settings.dataDir, SHIPPED_WRITE_PATHS) ?? error;
  }
}

/** Reads the gossip key file: one base64 line of 32 bytes. */
async function readGossipKey(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new CliError(`Cannot read --gossip-key-file=${path}: ${(error as Error).message}`, 1);
  }
  try {
    return parseGossipKey(text.trim());
  } catch (error) {
    throw new CliError(`Cannot use --gossip-key-file=${path}: ${(error as Error).message}`, 1);
  }
}

/**
 * Cluster settings: the gossip key (a TLS cluster refuses to gossip in the clear unless told
 * `--insecure-gossip`), and mutual TLS between peers when `--peer-tls-*` is set.
 */
async function clusterConfig(
  settings: ServeSettings,
  security: SecurityState,
  logger: Logger,
): Promise<ClusterConfig> {
  const gossipKey = settings.gossipKeyFile === ""
    ? null
    : await readGossipKey(settings.gossipKeyFile);
  const peerTls = security.peerTls;
  const wantsCluster = settings.bootstrap || settings.joinAddrs.length > 0;
  if (gossipKey === null && (security.tlsEnabled || peerTls !== undefined) && wantsCluster) {
    if (!settings.insecureGossip) {
      throw new CliError(
        "Cannot start a TLS cluster with unauthenticated gossip: set --gossip-key-file (a base64 32-byte key, e.g. from `openssl rand -base64 32`) on every node, or --insecure-gossip to accept it",
      );
    }
    logger.warn(
      "INSECURE: gossip is neither encrypted nor authenticated (--insecure-gossip): anyone who reaches --bind-addr can join the member list",
    );
  }
  // A weaker --fsync in a cluster is announced by the agent when Raft starts (one line).
  return {
    bootstrap: settings.bootstrap,
    joinAddrs: settings.joinAddrs,
    gossipPort: settings.gossipPort,
    gossipKey,
    ...(settings.advertiseAddr ? { advertiseAddr: settings.advertiseAddr } : {}),
    ...(settings.advertiseRpcAddr ? { advertiseRpcAddr: settings.advertiseRpcAddr } : {}),
    ...(peerTls
      ? {
        dialPeer: peerDialer(peerTls.connectOptions(PEER_SERVER_NAME)),
        peerCredentials: peerTls.serverCredentials,
        forwardCredentials: peerTls.channelCredentials(),
        forwardChannelOptions: peerTls.channelOptions(PEER_SERVER_NAME),
      }
      : {}),
  };
}

/** Runs `serve` until a signal; resolves with the exit code. */
export async function runServe(args: string[]): Promise<number> {
  const settings = await collectSettings(args);
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat })
    .child({ node: settings.nodeName });
  logger.info("configuration", { settings: redactSecrets(settings) });
  const metrics = new Metrics({ defaultLabels: { node: settings.nodeName }, processMetrics: true });
  const security = await loadSecurity(settings, logger);
  let agent: Agent;
  try {
    agent = await start(settings, security, logger, metrics);
  } catch (error) {
    await security.close();
    throw error;
  }
  security.watch(); // SIGHUP and file changes reload certificates and policy
  logger.info("node started", { rpcPort: agent.rpcPort, httpPort: agent.httpPort });
  // Listen before announcing readiness: a supervisor may signal as soon as it reads it.
  const signalled = waitForSignal();
  const host = settings.bindHost.includes(":") ? `[${settings.bindHost}]` : settings.bindHost;
  const scheme = security.tlsEnabled ? "https" : "http";
  console.log(`strand: node ${settings.nodeName} serving`);
  // Before the gRPC line: tools that wait for "gRPC" then find the gossip address too.
  if (agent.cluster !== null) console.log(`  gossip ${agent.gossipAddr}`);
  console.log(`  gRPC  ${host}:${agent.rpcPort}`);
  console.log(`  HTTP  ${scheme}://${host}:${agent.httpPort}`);
  if (settings.ops) console.log(`  ops   http://${hostOf(settings.ops.host)}:${agent.opsPort}`);
  console.log(`  data  ${settings.dataDir}`);
  console.log(`  auth  ${authSummary(security)}`);
  const signal = await signalled;
  console.log(`strand: ${signal} received, shutting down`);
  logger.info("node stopping", { signal });
  // A second signal while draining stops at once.
  const force = () => Deno.exit(130);
  Deno.addSignalListener("SIGINT", force);
  Deno.addSignalListener("SIGTERM", force);
  await agent.shutdown();
  await security.close();
  console.log("strand: stopped");
  logger.info("node stopped");
  return 0;
}

function hostOf(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function authSummary(security: SecurityState): string {
  if (!security.tlsEnabled) return "NONE: plaintext, no authentication, no authorization";
  const tls = security.mutualTls ? "mutual TLS (client certificates required)" : "TLS";
  return `${tls}, ${security.aclEnabled ? "ACL" : "no ACL"}`;
}
