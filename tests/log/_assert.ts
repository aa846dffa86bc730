/**
 * Tiny assertion helpers for the log tests (no @std/assert: JSR is unreachable here).
 * @module
 */

import { LogError, type LogErrorCode } from "../../log/mod.ts";

/** Throws unless `condition` holds. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Throws unless `actual` and `expected` are deeply equal (compared as JSON of plain data). */
export function assertEquals(actual: unknown, expected: unknown, message = ""): void {
  const a = JSON.stringify(actual, replacer);
  const b = JSON.stringify(expected, replacer);
  if (a !== b) throw new Error(`${message}\n  actual:   ${a}\n  expected: ${b}`);
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { bytes: [...value] } : value;
}

/** Runs `fn` and returns the `LogError` it throws, asserting its code (and message part). */
export function assertThrowsLog(fn: () => unknown, code: LogErrorCode, includes = ""): LogError {
  try {
    fn();
  } catch (error) {
    return checkLogError(error, code, includes);
  }
  throw new Error(`expected LogError ${code}, but nothing was thrown`);
}

/** Awaits `promise` and returns the `LogError` it rejects with, asserting its code. */
export async function assertRejectsLog(
  promise: Promise<unknown>,
  code: LogErrorCode,
  includes = "",
): Promise<LogError> {
  try {
    await promise;
  } catch (error) {
    return checkLogError(error, code, includes);
  }
  throw new Error(`expected LogError ${code}, but the promise resolved`);
}

function checkLogError(error: unknown, code: LogErrorCode, includes: string): LogError {
  if (!(error instanceof LogError)) throw new Error(`expected LogError ${code}, got ${error}`);
  if (error.code !== code) {
    throw new Error(`expected code ${code}, got ${error.code}: ${error.message}`);
  }
  if (!error.message.includes(includes)) {
    throw new Error(`expected message to include "${includes}", got "${error.message}"`);
  }
  return error;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of a string. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** String of bytes. */
export function text(value: Uint8Array): string {
  return decoder.decode(value);
}
