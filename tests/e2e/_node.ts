/**
 * Runs `strand serve` as a child process with the same least-privilege flags as
 * `deno task start` (scoped to a temp data dir), and stops it by signal.
 */
import { taskFlagValue, taskV8Flags, v8FlagArgs } from "../../bench/_shipped_runtime.ts";

const root = new URL("../../", import.meta.url);
const mainPath = new URL("main.ts", root).pathname;

/** The flags of `deno task start` beyond the paths: its env names and its V8 flags. */
const startFlags = (() => {
  const envNames = taskFlagValue("start", "allow-env");
  if (envNames === "") throw new Error("deno.json start task has no --allow-env");
  return [`--allow-env=${envNames}`, ...v8FlagArgs(taskV8Flags("start"))];
})();

/**
 * Deno flags for serving from `dataDir` as `deno task start` does: net, read/write of the data
 * dir, the listed env, and the V8 flags Strand ships with.
 */
export function servePermissions(dataDir: string): string[] {
  return ["--allow-net", `--allow-read=${dataDir}`, `--allow-write=${dataDir}`, ...startFlags];
}

export interface Node {
  readonly rpcAddr: string;
  readonly httpUrl: string;
  readonly process: Deno.ChildProcess;
  /** Everything the node printed on stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and waits for the exit; resolves with the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

async function collect(stream: ReadableStream<Uint8Array>, sink: (text: string) => void) {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink(chunk);
}

/**
 * Spawns `serve`; resolves once it printed its addresses (or rejects with its output).
 * `options.fileBlocksMax`: a file size limit (`ulimit -f`, 512-byte blocks, SIGXFSZ ignored),
 * so a write past it fails with EFBIG as a full disk fails with ENOSPC.
 */
export async function startNode(
  dataDir: string,
  extraArgs: string[] = [],
  options: { fileBlocksMax?: number | undefined } = {},
): Promise<Node> {
  const argv = [
    Deno.execPath(),
    "run",
    ...servePermissions(dataDir),
    mainPath,
    "serve",
    ...["--data-dir", dataDir, "--rpc-port", "0", "--http-port", "0", ...extraArgs],
  ];
  const quoted = argv.map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
  const [program, ...args] = options.fileBlocksMax === undefined
    ? argv
    : ["sh", "-c", `trap '' XFSZ; ulimit -f ${options.fileBlocksMax}; exec ${quoted}`];
  const command = new Deno.Command(program as string, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
  const process = command.spawn();
  let text = "";
  let notify = () => {};
  const sink = (chunk: string) => {
    text += chunk;
    notify();
  };
  const drained = Promise.all([collect(process.stdout, sink), collect(process.stderr, sink)]);
  const exited = process.status.then(async (status) => {
    await drained;
    return status.code;
  });
  const ready = new Promise<{ rpc: string; http: string }>((resolve, reject) => {
    notify = () => {
      const rpc = /gRPC\s+(\S+)/.exec(text)?.[1];
      const http = /HTTP\s+(\S+)/.exec(text)?.[1];
      if (rpc && http) resolve({ rpc, http });
    };
    exited.then((code) => reject(new Error(`serve exited with ${code} before ready:\n${text}`)));
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const addresses = await Promise.race([
    ready,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`serve not ready:\n${text}`)), 30_000);
    }),
  ]).catch(async (error) => {
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
    await exited;
    throw error;
  }).finally(() => clearTimeout(timer));
  return {
    rpcAddr: addresses.rpc,
    httpUrl: addresses.http,
    process,
    output: () => text,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch { /* already gone */ }
      return await exited;
    },
  };
}

/** Runs the CLI (`main.ts <args>`) to completion with `input` on stdin. */
export async function runCli(
  args: string[],
  input = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A temp dir removed by `await using`. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "strand-e2e-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
