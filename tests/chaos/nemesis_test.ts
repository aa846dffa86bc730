/**
 * A bounded nemesis run for CI (tests/chaos/nemesis.ts): kills, pauses and partitions on a
 * seeded schedule while clients append and read; the history must be linearizable and every
 * acknowledged record must be in the final log. `deno task chaos` runs it for longer.
 */
import { runNemesis } from "./nemesis.ts";

Deno.test({
  name: "nemesis: kills, pauses and partitions keep the history linearizable",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const seed = Number(Deno.env.get("STRAND_CHAOS_SEED") ?? Date.now() % 1_000_000_007);
    const report = await runNemesis({ seed, durationMs: 15_000, nodeCount: 3, clients: 3 });
    console.log(`chaos: operations ${JSON.stringify(report.counts)}; final ${report.finalLength}`);
    if (report.faults.length < 3) throw new Error(`only ${report.faults.length} faults ran`);
    if ((report.counts["append ok"] ?? 0) < 10) throw new Error("too few acknowledged appends");
    if (report.problems.length > 0) {
      throw new Error(`seed ${seed}: ${report.problems.join("\n")}`);
    }
  },
});
