/**
 * `deno task bench [name...]`: runs the benchmark suites (`bench/<name>_bench.ts`) one after
 * another, each in its own process so one suite's heap and files never skew the next.
 * Each suite prints a readable table and one JSON line per figure:
 * `{"name":"log.append.always.c64.100B","value":123456,"unit":"records/s"}`.
 * @module
 */

const suites = ["log", "service", "raft", "discovery"];

async function runSuite(name: string): Promise<boolean> {
  const path = new URL(`./${name}_bench.ts`, import.meta.url);
  try {
    await Deno.stat(path);
  } catch {
    console.log(`# ${name}: no suite yet (bench/${name}_bench.ts)`);
    return true;
  }
  console.log(`# ${name}`);
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path.href],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { success } = await command.output();
  return success;
}

if (import.meta.main) {
  const wanted = Deno.args.length > 0 ? Deno.args : suites;
  let ok = true;
  for (const name of wanted) ok = (await runSuite(name)) && ok;
  Deno.exit(ok ? 0 : 1);
}
