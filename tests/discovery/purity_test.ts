/**
 * The core stays pure (CONTRIBUTING.md, convention 1): no IO, clock, timer or global randomness in the files
 * the simulation drives, and `discovery/` never imports Raft.
 */

import { assert } from "./_assert.ts";

const coreFiles = [
  "_broadcast.ts",
  "_codec.ts",
  "_config.ts",
  "_errors.ts",
  "_member_table.ts",
  "_membership.ts",
  "_prober.ts",
  "_suspicion.ts",
  "_types.ts",
];
const forbidden = [
  /\bDeno\./,
  /\bDate\.now\b/,
  /\bnew Date\b/,
  /\bMath\.random\b/,
  /\bperformance\.now\b/,
  /\bset(Timeout|Interval)\b/,
  /\bcrypto\./,
  /from "node:/,
];

Deno.test("purity: the SWIM core uses no IO, clock, timer or global randomness", async () => {
  for (const file of coreFiles) {
    const source = await Deno.readTextFile(new URL(`../../discovery/${file}`, import.meta.url));
    for (const pattern of forbidden) {
      assert(!pattern.test(source), `discovery/${file} matches ${pattern}`);
    }
    assert(!source.includes("tests/sim"), `discovery/${file} imports the simulation`);
  }
});

Deno.test("purity: discovery/ does not import raft/ (events go through the Handler interface)", async () => {
  for await (const entry of Deno.readDir(new URL("../../discovery/", import.meta.url))) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(
      new URL(`../../discovery/${entry.name}`, import.meta.url),
    );
    assert(!/from "\.\.\/raft\//.test(source), `discovery/${entry.name} imports raft/`);
  }
});
