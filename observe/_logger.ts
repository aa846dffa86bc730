/**
 * Structured logging: one line per event, JSON or readable text, written synchronously so a
 * line is never lost when the process exits right after it. There is no global logger: a
 * logger is created once (by the CLI) and passed to whatever needs one.
 * @module
 */

import { ObserveError } from "./_errors.ts";
import { toJsonSafe } from "./_redact.ts";

/** Severity of a log line, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** How lines are written: `json` (one object per line) or readable `text`. */
export type LogFormat = "json" | "text";
/** Extra key/value pairs of a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** The narrow interface the rest of Strand logs through (server/, agent/ declare the same). */
export interface Logger {
  /** Detail for debugging: every request, every decision. */
  debug(message: string, fields?: LogFields): void;
  /** Normal operation worth a line: start-up, shutdown, configuration. */
  info(message: string, fields?: LogFields): void;
  /** Something is wrong or slow but the node carries on. */
  warn(message: string, fields?: LogFields): void;
  /** An operation failed. */
  error(message: string, fields?: LogFields): void;
}

/** A {@linkcode Logger} that also knows its level and can bind fields into a child. */
export interface StructuredLogger extends Logger {
  /** Lines below this level are dropped. */
  readonly level: LogLevel;
  /** Whether a line at `level` would be written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
  /** A logger writing to the same place whose lines all carry `fields`. */
  child(fields: LogFields): StructuredLogger;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** Default: `text` when stderr is a terminal, `json` otherwise. */
  format?: LogFormat;
  /** Receives each finished line, without its newline. Default: stderr. */
  write?: (line: string) => void;
  /** Clock for the `time` field, in milliseconds since the epoch. Default `Date.now`. */
  nowMs?: () => number;
  /** Fields bound to every line. */
  fields?: LogFields;
}

/** The levels in increasing severity; a line is written when its rank >= the logger's. */
export const logLevels: readonly LogLevel[] = ["debug", "info", "warn", "error"];
/** The accepted values of `--log-format`. */
export const logFormats: readonly LogFormat[] = ["json", "text"];

/** The keys every JSON line starts with; a field with one of these names is prefixed. */
const reservedKeys = new Set(["time", "level", "msg"]);

/**
 * Parses a `--log-level` value.
 *
 * @example
 * ```ts
 * parseLogLevel("warn"); // "warn"
 * ```
 */
export function parseLogLevel(text: string): LogLevel {
  const level = logLevels.find((candidate) => candidate === text.toLowerCase());
  if (level === undefined) {
    throw new ObserveError(
      "INVALID_ARGUMENT",
      `Cannot parse log level "${text}": expected one of ${logLevels.join(", ")}`,
    );
  }
  return level;
}

/** Parses a `--log-format` value (`json` or `text`). */
export function parseLogFormat(text: string): LogFormat {
  const format = logFormats.find((candidate) => candidate === text.toLowerCase());
  if (format === undefined) {
    throw new ObserveError(
      "INVALID_ARGUMENT",
      `Cannot parse log format "${text}": expected one of ${logFormats.join(", ")}`,
    );
  }
  return format;
}

/** `text` when stderr is a terminal (a person is reading), `json` otherwise (a collector is). */
export function defaultLogFormat(): LogFormat {
  try {
    return Deno.stderr.isTerminal() ? "text" : "json";
  } catch {
    return "json";
  }
}

/**
 * Creates a logger. Logging never throws: a field that cannot be serialised is replaced by a
 * description of the failure rather than losing the line.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: "debug", format: "json" });
 * logger.child({ node: "n1" }).info("started", { rpcPort: 8400 });
 * // {"time":"2026-11-28T00:00:00.000Z","level":"info","msg":"started","node":"n1","rpcPort":8400}
 * ```
 */
export function createLogger(options: LoggerOptions = {}): StructuredLogger {
  const sink: Sink = {
    level: options.level ?? "info",
    format: options.format ?? defaultLogFormat(),
    write: options.write ?? writeStderr,
    nowMs: options.nowMs ?? Date.now,
  };
  return new SinkLogger(sink, { ...options.fields });
}

interface Sink {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly write: (line: string) => void;
  readonly nowMs: () => number;
}

class SinkLogger implements StructuredLogger {
  readonly #sink: Sink;
  readonly #fields: LogFields;
  readonly #rankMin: number;

  constructor(sink: Sink, fields: LogFields) {
    this.#sink = sink;
    this.#fields = fields;
    this.#rankMin = logLevels.indexOf(sink.level);
  }

  get level(): LogLevel {
    return this.#sink.level;
  }

  enabled(level: LogLevel): boolean {
    return logLevels.indexOf(level) >= this.#rankMin;
  }

  child(fields: LogFields): StructuredLogger {
    return new SinkLogger(this.#sink, { ...this.#fields, ...fields });
  }

  debug(message: string, fields?: LogFields): void {
    this.#log("debug", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.#log("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.#log("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.#log("error", message, fields);
  }

  #log(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    const time = new Date(this.#sink.nowMs()).toISOString();
    const merged = fields === undefined ? this.#fields : { ...this.#fields, ...fields };
    const line = this.#sink.format === "json"
      ? formatJson(time, level, message, merged)
      : formatText(time, level, message, merged);
    try {
      this.#sink.write(line);
    } catch {
      // A broken stderr must not take the node down; there is nowhere left to report it.
    }
  }
}

function formatJson(time: string, level: LogLevel, message: string, fields: LogFields): string {
  const record: Record<string, unknown> = { time, level, msg: message };
  for (const [key, value] of Object.entries(fields)) {
    record[reservedKeys.has(key) ? `field.${key}` : key] = toJsonSafe(value);
  }
  return JSON.stringify(record);
}

function formatText(time: string, level: LogLevel, message: string, fields: LogFields): string {
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${message}`;
  for (const [key, value] of Object.entries(fields)) {
    const safe = toJsonSafe(value);
    const text = typeof safe === "string" ? safe : JSON.stringify(safe) ?? "undefined";
    line += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line;
}

const encoder = new TextEncoder();

/** Writes all bytes of one line to stderr; bounded because each write makes progress. */
function writeStderr(line: string): void {
  const bytes = encoder.encode(line + "\n");
  let position = 0;
  for (let attempt = 0; position < bytes.length && attempt < 1000; attempt++) {
    position += Deno.stderr.writeSync(bytes.subarray(position));
  }
}

/** A logger that drops everything (tests, libraries used without a logger). */
export const silentLogger: StructuredLogger = createLogger({ level: "error", write: () => {} });
