/**
 * Strand's entry point. The command line lives in `cli/`; this file only hands off to it.
 * @module
 */
import { runCli } from "./cli/mod.ts";

if (import.meta.main) {
  try {
    Deno.exit(await runCli(Deno.args));
  } catch (error) {
    // Known failures are CliErrors, reported by runCli in one line. Anything else is a bug:
    // one line to read first (never "Uncaught (in promise)"), then the stack to report it.
    console.error(`strand: unexpected error: ${error instanceof Error ? error.message : error}`);
    if (error instanceof Error && error.stack) console.error(error.stack);
    Deno.exit(1);
  }
}
