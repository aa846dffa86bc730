/**
 * CI runs of the SWIM simulation: many seeds per scenario. A failure names its seed and
 * the command that replays it exactly.
 */

import { defaultConfig, failureDetectionBoundMs } from "../../../discovery/mod.ts";
import { SimCluster } from "./cluster.ts";
import { runScenario, type ScenarioKind, type ScenarioOptions } from "./scenarios.ts";

function runSeeds(kind: ScenarioKind, seeds: number, options: ScenarioOptions = {}): void {
  const failures: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const result = runScenario(kind, seed, options);
    if (result.violations.length === 0) continue;
    const size = options.size === undefined ? "" : ` --size ${options.size}`;
    failures.push(
      `seed=${seed} (${result.notes.join("; ")})\n  ${result.violations.join("\n  ")}\n` +
        `  replay: deno task sim:swim --scenario ${kind} --seed ${seed}${size}`,
    );
  }
  if (failures.length > 0) {
    throw new Error(`${failures.length}/${seeds} ${kind} runs failed:\n${failures.join("\n")}`);
  }
}

Deno.test("sim: every crashed member is declared failed by all within the bound", () => {
  runSeeds("crash", 200);
});

Deno.test("sim: crashes in a 100-member cluster are detected within the bound", () => {
  runSeeds("crash", 12, { size: 100 });
});

Deno.test("sim: 10% loss over 1,000 probe rounds at 50 members: no false failure, suspicions and refutations within bounds", () => {
  runSeeds("loss", 8);
});

Deno.test("sim: views converge after symmetric and one-way partitions heal", () => {
  runSeeds("partition", 150);
});

Deno.test("sim: a member that left is never reported failed", () => {
  runSeeds("leave", 150);
});

Deno.test("sim: members joining one by one converge", () => {
  runSeeds("join", 100);
});

Deno.test("sim: a member rejoining under its name at a new address replaces its entry", () => {
  runSeeds("rejoin", 150);
});

Deno.test("sim: tags updated at run time reach every member", () => {
  runSeeds("tags", 100);
});

Deno.test("sim: the failure-detection bound grows with log n", () => {
  const bounds = [3, 10, 100, 1000].map((size) => failureDetectionBoundMs(defaultConfig, size));
  for (let i = 1; i < bounds.length; i++) {
    if (!((bounds[i] as number) > (bounds[i - 1] as number))) {
      throw new Error(`bound does not grow: ${bounds.join(", ")}`);
    }
  }
  // Logarithmic, not linear: 10x the members adds a bounded step, far from 10x the time.
  const step = (bounds[3] as number) - (bounds[2] as number);
  if (!((bounds[3] as number) < 2 * (bounds[2] as number) && step > 0)) {
    throw new Error(`bound is not logarithmic: ${bounds.join(", ")}`);
  }
});

Deno.test("sim: the same seed replays the same run", () => {
  const trace = (seed: number): string => {
    const cluster = new SimCluster({ seed, network: { lossRate: 0.05, delayMsMax: 30 } });
    for (let i = 0; i < 12; i++) cluster.addNode(`node-${i}`);
    cluster.bootstrap();
    cluster.runUntil(2_000);
    cluster.crash("node-3");
    cluster.runUntil(20_000);
    return cluster.events
      .map(({ observer, event }) =>
        `${observer.name}:${event.type}:${event.member.name}@${event.atMs}`
      )
      .join("\n");
  };
  const first = trace(7);
  if (first !== trace(7)) throw new Error("seed 7 produced two different runs");
  if (first === trace(8)) throw new Error("seeds 7 and 8 produced the same run");
  if (!first.includes(":fail:node-3@")) throw new Error("the crash was not detected");
});

Deno.test("sim: members frozen for up to a second are never declared failed, nor get anyone else declared failed", () => {
  runSeeds("pause", 40);
});

Deno.test("sim: chaos (crashes, leaves, joins, pauses, tags, partitions) converges after the heal", () => {
  runSeeds("chaos", 100);
});

Deno.test("sim: hundreds of departed members leave suspicion and refutation rates within bounds", () => {
  runSeeds("tombstones", 6);
});

Deno.test("sim: a member restarted at the same address is admitted at once and views converge", () => {
  runSeeds("restart", 100);
});

Deno.test("sim: a second process under a live name is refused everywhere, also while the original is suspected; the original is untouched", () => {
  runSeeds("duplicate", 60);
});

Deno.test("sim: replaying every recorded packet after reaping resurrects nobody", () => {
  runSeeds("replay", 40);
});
