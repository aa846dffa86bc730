/**
 * Strand's entry point. The command line lives in `cli/`; this file only hands off to it.
 * @module
 */
import { runCli } from "./cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
