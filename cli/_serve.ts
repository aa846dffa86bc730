/**
 * `strand serve`: runs a node until SIGINT/SIGTERM, then stops it gracefully.
 * @module
 */
import { parseArgs } from "node:util";
import { type Agent, startAgent } from "../agent/mod.ts";
import { type RawSettings, readConfigFile, readEnv, type ServeKey, serveKeys } from "./_config.ts";
import { CliError } from "./_errors.ts";
import { stderrLogger } from "./_logger.ts";
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
  --fsync POLICY            always | interval=<ms> | never (default always)
  --segment-bytes-max N     roll segments at N bytes (default 64 MiB)
  --record-bytes-max N      largest record accepted (default 1 MiB)
  --retention-bytes N       delete the oldest segments beyond N bytes (default: keep all)
  --retention-ms N          delete segments older than N ms (default: keep all)
  --log-level LEVEL         debug | info | warn | error (default info)
  --bootstrap               start a new cluster (a single node always is one)
  --start-join-addrs LIST   gossip addresses to join (cluster issue: not supported yet)
  --acl-model-file FILE, --acl-policy-file FILE          (security issue: not yet)
  --server-tls-{cert,key,ca}-file FILE                   (security issue: not yet)
  --peer-tls-{cert,key,ca}-file FILE                     (security issue: not yet)
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

async function start(settings: ServeSettings): Promise<Agent> {
  try {
    return await startAgent({
      dataDir: settings.dataDir,
      nodeName: settings.nodeName,
      bindHost: settings.bindHost,
      rpcPort: settings.rpcPort,
      httpPort: settings.httpPort,
      log: settings.log,
      logger: stderrLogger(settings.logLevel),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = (error as Error).message ?? "";
    if (code === "LOCKED" || code === "EADDRINUSE" || message.startsWith("Cannot listen")) {
      throw new CliError((error as Error).message, 1);
    }
    throw error;
  }
}

/** Runs `serve` until a signal; resolves with the exit code. */
export async function runServe(args: string[]): Promise<number> {
  const settings = await collectSettings(args);
  const agent = await start(settings);
  const host = settings.bindHost.includes(":") ? `[${settings.bindHost}]` : settings.bindHost;
  console.log(`strand: node ${settings.nodeName} serving`);
  console.log(`  gRPC  ${host}:${agent.rpcPort}`);
  console.log(`  HTTP  http://${host}:${agent.httpPort}`);
  console.log(`  data  ${settings.dataDir}`);
  const signal = await waitForSignal();
  console.log(`strand: ${signal} received, shutting down`);
  // A second signal while draining stops at once.
  const force = () => Deno.exit(130);
  Deno.addSignalListener("SIGINT", force);
  Deno.addSignalListener("SIGTERM", force);
  await agent.shutdown();
  console.log("strand: stopped");
  return 0;
}
