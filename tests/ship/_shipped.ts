/**
 * Runs Strand exactly as `deno task start` does: every flag of the task, from deno.json, in a
 * working directory of the test's own (the task's relative `./data` and `./certs` resolve
 * against it, as they do for the compiled binary).
 */
import { taskFlags } from "../../bench/_shipped_runtime.ts";

const root = new URL("../../", import.meta.url);
/** The repository's deno.json (the child runs in another directory, so it is named). */
export const denoJsonPath = new URL("deno.json", root).pathname;
/** The entry point. */
export const mainPath = new URL("main.ts", root).pathname;

/** The permission-related flags of a task: everything but the output and npm layout flags. */
export function permissionFlags(task: "start" | "compile"): string[] {
  return taskFlags(task).filter((flag) =>
    !flag.startsWith("--output") && !flag.startsWith("--node-modules-dir") &&
    flag !== "--exclude-unused-npm"
  );
}

/** The comma-separated values of a task's `--name=` flag. */
export function flagList(task: "start" | "compile", name: string): string[] {
  const prefix = `--${name}=`;
  const flag = taskFlags(task).find((word) => word.startsWith(prefix));
  return flag ? flag.slice(prefix.length).split(",") : [];
}

/** A finished run. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

function startArgs(script: string, args: readonly string[]): string[] {
  return ["run", `--config=${denoJsonPath}`, ...taskFlags("start"), script, ...args];
}

/** Runs `script` (default: main.ts) with the start task's flags in `cwd` to completion. */
export async function runShipped(
  cwd: string,
  args: readonly string[],
  options: { script?: string; env?: Record<string, string> } = {},
): Promise<Finished> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: startArgs(options.script ?? mainPath, args),
    cwd,
    env: options.env ?? {},
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

/** A running `serve`. */
export interface ShippedNode {
  readonly httpUrl: string;
  readonly opsUrl: string | undefined;
  output(): string;
  stop(): Promise<number>;
}

async function pump(stream: ReadableStream<Uint8Array>, sink: (text: string) => void) {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink(chunk);
}

/** Starts `serve` as `deno task start` would, in `cwd`; resolves once it printed its ports. */
export async function startShipped(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<ShippedNode> {
  const child = new Deno.Command(Deno.execPath(), {
    args: startArgs(mainPath, ["serve", ...args]),
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let wake = () => {};
  const sink = (chunk: string) => {
    text += chunk;
    wake();
  };
  const drained = Promise.all([pump(child.stdout, sink), pump(child.stderr, sink)]);
  const exited = child.status.then(async (status) => {
    await drained;
    return status.code;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      wake = () => /HTTP\s+\S+/.test(text) && /auth\s/.test(text) && resolve();
      exited.then((code) => reject(new Error(`serve exited with ${code}:\n${text}`)));
      timer = setTimeout(() => reject(new Error(`serve not ready in 30 s:\n${text}`)), 30_000);
    });
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    httpUrl: /HTTP\s+(\S+)/.exec(text)![1]!,
    opsUrl: /^\s+ops\s+(\S+)/m.exec(text)?.[1],
    output: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      return await exited;
    },
  };
}

/** A temp dir removed by `await using`. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "strand-ship-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
