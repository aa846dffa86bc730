/**
 * `deno task bench [name...] [--flag...]`: runs the benchmark suites (`bench/<name>_bench.ts`)
 * one after another, each in its own process so one suite's heap and files never skew the next.
 * Arguments starting with `--` are passed to every suite run (e.g. `--quick`, `--secs=1`).
 * Each suite prints a readable table and one JSON line per figure:
 * `{"name":"log.append.always.c64.100B","value":123456,"unit":"records/s"}`.
 * @module
 */

const suites = ["log", "service", "raft", "discovery", "cluster", "limits"];

async function runSuite(name: string, flags: readonly string[]): Promise<boolean> {
  const path = new URL(`./${name}_bench.ts`, import.meta.url);
  try {
    await Deno.stat(path);
  } catch {
    console.log(`# ${name}: no suite yet (bench/${name}_bench.ts)`);
    return true;
  }
  console.log(`# ${name}`);
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.href, ...flags],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { success } = await command.output();
  return success;
}

if (import.meta.main) {
  const flags = Deno.args.filter((arg) => arg.startsWith("--"));
  const names = Deno.args.filter((arg) => !arg.startsWith("--"));
  const unknown = names.filter((name) => !suites.includes(name));
  if (unknown.length > 0) {
    console.error(
      `Unknown benchmark suite ${unknown.join(", ")}: choose from ${suites.join(", ")}`,
    );
    Deno.exit(2);
  }
  let ok = true;
  for (const name of names.length > 0 ? names : suites) ok = (await runSuite(name, flags)) && ok;
  Deno.exit(ok ? 0 : 1);
}
