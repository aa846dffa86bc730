/**
 * `deno task bench`: runs every benchmark suite in turn.
 * @module
 */
if (import.meta.main) {
  console.log("no benchmarks yet");
}
