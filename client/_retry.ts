/**
 * Retries with exponential backoff and full jitter under an overall deadline.
 * @module
 */
import { status } from "@grpc/grpc-js";

/** How a {@linkcode StrandClient} call retries. */
export interface RetryPolicy {
  /** The whole call, every attempt and wait included, ends by then (default 30 s). */
  readonly deadlineMs: number;
  /** One attempt may take this long (default 10 s; cut to what is left of the deadline). */
  readonly attemptTimeoutMs: number;
  /** The first wait is drawn from [0, backoffBaseMs) (default 50 ms) … */
  readonly backoffBaseMs: number;
  /** … doubling per attempt up to [0, backoffMaxMs) (default 2 s). */
  readonly backoffMaxMs: number;
}

/** The defaults of {@linkcode RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  deadlineMs: 30_000,
  attemptTimeoutMs: 10_000,
  backoffBaseMs: 50,
  backoffMaxMs: 2_000,
};

/** grpc-js's words for a connection that broke under a call (reported as INTERNAL). */
const brokenConnection = /RST_STREAM|socket has been ended|Connection dropped|ECONNRESET|EPIPE/i;

/**
 * Failures worth another attempt: no connection, no leader yet, an attempt that timed out, a
 * connection that broke under the call (its node died).
 */
export function isRetryable(error: unknown): boolean {
  const { code, details } = error as { code?: unknown; details?: unknown };
  if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) return true;
  return code === status.INTERNAL && brokenConnection.test(String(details ?? ""));
}

/**
 * Codes that say the server refused the request before appending anything (the request was
 * wrong or not allowed); any other failure leaves a produce's outcome unknown.
 */
const REFUSED = new Set<number>([
  status.INVALID_ARGUMENT,
  status.RESOURCE_EXHAUSTED,
  status.PERMISSION_DENIED,
  status.UNAUTHENTICATED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.UNIMPLEMENTED,
]);

/** Whether a failed produce attempt may have appended its records. */
export function outcomeUnknown(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code !== "number" || !REFUSED.has(code);
}

/** Full jitter: a wait drawn uniformly from [0, min(max, base·2^attempt)). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceilingMs = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** attempt);
  return Math.floor(random() * ceilingMs);
}

/** Clock, randomness and sleep, injectable for tests. */
export interface RetryRuntime {
  readonly now: () => number;
  readonly random: () => number;
  /** Resolves after `ms`, or early (rejecting) when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Real time and Math.random. */
export const realRuntime: RetryRuntime = {
  now: () => Date.now(),
  random: Math.random,
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    }),
};

/** What {@linkcode retrying} needs beyond the attempt itself. */
export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly runtime: RetryRuntime;
  /** Aborts the waits (the client closed). */
  readonly signal: AbortSignal;
  /** Whether `error` (of attempt number `attempt`, from 0) gets another attempt. */
  readonly shouldRetry: (error: unknown, attempt: number) => boolean;
  /** Told of every failed attempt (before any wait). */
  readonly onFailure?: (error: unknown, attempt: number) => void;
}

/**
 * Runs `attempt(deadlineMs)` until it succeeds, fails with an error `shouldRetry` refuses, or
 * the overall deadline leaves no time for the next wait; then throws the last error, with
 * `attempts` set on it. `deadlineMs` (epoch ms) bounds the attempt.
 */
export async function retrying<T>(
  attempt: (deadlineMs: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { policy, runtime } = options;
  const endMs = runtime.now() + policy.deadlineMs;
  for (let n = 0;; n++) {
    const attemptEndMs = Math.min(endMs, runtime.now() + policy.attemptTimeoutMs);
    try {
      return await attempt(attemptEndMs);
    } catch (error) {
      options.onFailure?.(error, n);
      const waitMs = backoffDelayMs(n, policy, runtime.random);
      const retry = !options.signal.aborted && options.shouldRetry(error, n) &&
        runtime.now() + waitMs < endMs;
      if (!retry) {
        if (error !== null && typeof error === "object") {
          Object.assign(error, { attempts: n + 1 });
        }
        throw error;
      }
      await runtime.sleep(waitMs, options.signal);
    }
  }
}
