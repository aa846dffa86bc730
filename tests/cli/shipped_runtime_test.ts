import { taskV8Flags } from "../../bench/_shipped_runtime.ts";
import { assert, assertEquals } from "../server/_assert.ts";

const probe = new URL("./testdata/young_generation_probe.ts", import.meta.url).pathname;

async function youngGenerationPeak(v8Args: string[]): Promise<number> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", ...v8Args, probe],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  return Number(new TextDecoder().decode(output.stdout).trim());
}

Deno.test("shipped runtime: start and compile cap V8's young generation alike", async () => {
  // A capped young generation keeps each scavenge pause short (see README, Benchmarks): the
  // node runs and the compiled binary must get the same flags, and the bench reads them.
  const flags = taskV8Flags("start");
  assert(flags.includes("--max-semi-space-size="), `start task V8 flags: "${flags}"`);
  assertEquals(taskV8Flags("compile"), flags);
  const capped = await youngGenerationPeak([`--v8-flags=${flags}`]);
  const uncapped = await youngGenerationPeak([]);
  assert(capped * 2 <= uncapped, `young generation: ${capped} B capped, ${uncapped} B by default`);
});
