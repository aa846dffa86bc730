/**
 * The command line's logger until observe/ plugs its own: one JSON line per event on stderr.
 * @module
 */
import type { Logger } from "../server/mod.ts";

const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** A logger writing `{"time","level","message",...fields}` lines to stderr from `minimum`. */
export function stderrLogger(minimum: keyof typeof levels): Logger {
  const encoder = new TextEncoder();
  const write =
    (level: keyof typeof levels) => (message: string, fields: Record<string, unknown> = {}) => {
      if (levels[level] < levels[minimum]) return;
      const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields });
      Deno.stderr.writeSync(encoder.encode(`${line}\n`));
    };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
