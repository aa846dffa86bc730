/**
 * Runs `strand serve` as a child process under least-privilege flags: network, read/write
 * of the data dir only, READ-ONLY access to the given certificate and policy files, and
 * the environment variables of `deno task start`. No -A, no run, no ffi.
 */
import { taskFlags } from "../../bench/_shipped_runtime.ts";

const root = new URL("../../", import.meta.url);
const mainPath = new URL("main.ts", root).pathname;

/** The `--allow-env`, `--allow-sys` and `--v8-flags` flags of `deno task start`, so tests match it. */
function startTaskFlags(): string[] {
  return taskFlags("start").filter((flag) =>
    flag.startsWith("--allow-env=") || flag.startsWith("--allow-sys") ||
    flag.startsWith("--v8-flags=")
  );
}

/** A running node and the text it printed so far. */
export interface ServedNode {
  readonly rpcPort: number;
  readonly httpPort: number;
  output(): string;
  /** Resolves once the output contains `text` (rejects after `timeoutMs`). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  signal(signal: Deno.Signal): void;
  stop(): Promise<number>;
}

/** Spawns serve with `args`, reading `readOnlyFiles`; resolves once it printed its ports. */
export async function serve(
  dataDir: string,
  readOnlyFiles: readonly string[],
  args: readonly string[],
): Promise<ServedNode> {
  const read = [dataDir, ...readOnlyFiles].join(",");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net",
      `--allow-read=${read}`,
      `--allow-write=${dataDir}`,
      ...startTaskFlags(),
      mainPath,
      "serve",
      ...["--data-dir", dataDir, "--rpc-port", "0", "--http-port", "0", ...args],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const listeners = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      for (const listener of listeners) listener();
    }
  };
  const drained = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status.then(async (status) => {
    await drained;
    return status.code;
  });
  const waitFor = (wanted: string | RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        const found = typeof wanted === "string" ? text.includes(wanted) : wanted.test(text);
        if (!found) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no "${wanted}" within ${timeoutMs} ms in:\n${text}`));
      }, timeoutMs);
      const onExit = () => {
        done();
        reject(new Error(`serve exited before "${wanted}":\n${text}`));
      };
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
        exitWaiters.delete(onExit);
      };
      listeners.add(check);
      exitWaiters.add(onExit);
      check();
    });
  const exitWaiters = new Set<() => void>();
  exited.then(() => {
    for (const waiter of exitWaiters) waiter();
  });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    return await exited;
  };
  try {
    await waitFor(/HTTP\s+\S+:\d+/);
  } catch (error) {
    await stop();
    throw error;
  }
  const port = (label: string) => Number(new RegExp(`${label}\\s+\\S*:(\\d+)`).exec(text)?.[1]);
  return {
    rpcPort: port("gRPC"),
    httpPort: port("HTTP"),
    output: () => text,
    waitFor,
    signal: (signal) => child.kill(signal),
    stop,
  };
}

/** Runs the CLI (`main.ts <args>`) to completion (clients are not the subject here: -A). */
export async function runCli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
