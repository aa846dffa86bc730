/**
 * The V8 flags Strand ships with (`deno task start` and the `deno task compile` binary), read
 * from deno.json so the benchmarks run every process the way a user's runs.
 * @module
 */

const denoJson = new URL("../deno.json", import.meta.url);

/** The `--v8-flags=…` value of a deno.json task; "" when it sets none. */
export function taskV8Flags(task: string): string {
  const tasks = JSON.parse(Deno.readTextFileSync(denoJson)).tasks as Record<string, string>;
  const command = tasks[task];
  if (command === undefined) throw new Error(`deno.json has no "${task}" task`);
  return /--v8-flags=(\S+)/.exec(command)?.[1] ?? "";
}
