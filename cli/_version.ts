/**
 * `strand --version`: Strand's version (one constant, server/'s `STRAND_VERSION`) and the
 * runtime's.
 * @module
 */
import { STRAND_VERSION } from "../server/mod.ts";

/** The version lines: Strand's, then Deno's, V8's and TypeScript's. */
export function versionText(): string {
  const { deno, v8, typescript } = Deno.version;
  return `strand ${STRAND_VERSION}\ndeno ${deno} (v8 ${v8}, typescript ${typescript})`;
}
