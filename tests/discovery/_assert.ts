/** Tiny assertions for the discovery tests (no @std/assert available). */

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function assertEquals<T>(actual: T, expected: T, message = ""): void {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`assertion failed: ${message}\n  actual:   ${a}\n  expected: ${b}`);
}

export async function assertRejects(
  action: () => Promise<unknown>,
  code: string,
): Promise<void> {
  try {
    await action();
  } catch (error) {
    const actual = (error as { code?: string }).code;
    if (actual === code) return;
    throw new Error(`expected code ${code}, got ${actual}: ${error}`);
  }
  throw new Error(`expected a rejection with code ${code}`);
}

export function assertThrows(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    const actual = (error as { code?: string }).code;
    if (actual === code) return;
    throw new Error(`expected code ${code}, got ${actual}: ${error}`);
  }
  throw new Error(`expected a throw with code ${code}`);
}

/** Polls `probe` until it returns true or the deadline passes (bounded, no fixed sleeps). */
export async function eventually(
  what: string,
  probe: () => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 20_000);
  const intervalMs = options.intervalMs ?? 20;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
