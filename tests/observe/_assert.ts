/** Tiny assertions for the observe tests (no @std/assert available). */

/** Throws unless `condition` holds. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Throws unless `actual` and `expected` are equal as JSON (key order matters). */
export function assertEquals(actual: unknown, expected: unknown, message = ""): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}${message ? ": " : ""}expected ${e}, got ${a}`);
}

/** Throws unless `work` throws an error whose message matches `pattern`. */
export function assertThrows(work: () => unknown, pattern: RegExp): Error {
  try {
    work();
  } catch (error) {
    assert(error instanceof Error, `threw a non-Error: ${String(error)}`);
    assert(pattern.test(error.message), `message "${error.message}" does not match ${pattern}`);
    return error;
  }
  throw new Error(`expected an error matching ${pattern}`);
}
