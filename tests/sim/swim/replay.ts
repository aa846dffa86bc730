/**
 * Replays simulation runs: `deno task sim:swim --scenario crash --seed 42` replays one;
 * `--seeds 500` runs seeds 1..500 of every scenario (or of `--scenario`); `--size` forces
 * the cluster size. Exits non-zero on any violation and prints each failing seed.
 */

import { runScenario, type ScenarioKind, scenarioKinds } from "./scenarios.ts";

function argument(name: string): string | undefined {
  const index = Deno.args.indexOf(`--${name}`);
  return index >= 0 ? Deno.args[index + 1] : undefined;
}

function main(): number {
  const scenario = argument("scenario");
  if (scenario !== undefined && !(scenarioKinds as readonly string[]).includes(scenario)) {
    console.error(`unknown scenario ${scenario}; known: ${scenarioKinds.join(", ")}`);
    return 2;
  }
  const kinds = scenario === undefined ? [...scenarioKinds] : [scenario as ScenarioKind];
  const seedText = argument("seed");
  const seeds = seedText !== undefined
    ? [Number(seedText)]
    : Array.from({ length: Number(argument("seeds") ?? "20") }, (_, i) => i + 1);
  const sizeText = argument("size");
  const options = sizeText === undefined ? {} : { size: Number(sizeText) };
  let failed = 0;
  for (const kind of kinds) {
    for (const seed of seeds) {
      const started = performance.now();
      const result = runScenario(kind, seed, options);
      const ms = Math.round(performance.now() - started);
      const verdict = result.violations.length === 0 ? "ok  " : "FAIL";
      console.log(
        `${verdict} ${kind} seed=${seed} size=${result.size} (${ms} ms) ${result.notes.join("; ")}`,
      );
      for (const violation of result.violations) console.log(`     ${violation}`);
      if (result.violations.length > 0) failed++;
    }
  }
  console.log(failed === 0 ? "all runs passed" : `${failed} runs failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(main());
