/**
 * Allocates objects that survive a few scavenges, and prints the largest size V8's young
 * generation (new space) reached, in bytes. Run by shipped_runtime_test.ts.
 */
import v8 from "node:v8";

const newSpaceBytes = () =>
  v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
let kept: unknown[] = [];
let peak = 0;
for (let i = 0; i < 3_000_000; i++) {
  kept.push({ i, label: `record ${i}` });
  if (kept.length > 200_000) kept = [];
  if (i % 10_000 === 0) peak = Math.max(peak, newSpaceBytes());
}
console.log(peak);
