/**
 * Strand's entry point. The command line lives in `cli/`; this file only hands off to it.
 * @module
 */
if (import.meta.main) {
  console.error("strand: no commands yet");
  Deno.exit(2);
}
