/**
 * How Strand runs as shipped: the flags of `deno task start` (and of the `deno task compile`
 * binary), read from deno.json so benchmarks and tests start processes the way a user's run.
 * @module
 */

const denoJson = new URL("../deno.json", import.meta.url);

/** The `--…` words of a deno.json task's command. */
export function taskFlags(task: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(denoJson)).tasks as Record<string, string>;
  const command = tasks[task];
  if (command === undefined) throw new Error(`deno.json has no "${task}" task`);
  return command.split(/\s+/).filter((word) => word.startsWith("--"));
}

/** The value of a task's `--name=value` flag; "" when it has none. */
export function taskFlagValue(task: string, name: string): string {
  const prefix = `--${name}=`;
  return taskFlags(task).find((flag) => flag.startsWith(prefix))?.slice(prefix.length) ?? "";
}

/** The `--v8-flags=…` value of a deno.json task; "" when it sets none. */
export function taskV8Flags(task: string): string {
  return taskFlagValue(task, "v8-flags");
}

/** Deno arguments that give a process `flags` as its V8 flags (none for ""). */
export function v8FlagArgs(flags: string): string[] {
  return flags === "" ? [] : [`--v8-flags=${flags}`];
}
