/** Codes of {@linkcode ObserveError}. */
export type ObserveErrorCode =
  /** A caller passed a value the module cannot use (unknown log level, bad metric name…). */
  "INVALID_ARGUMENT";

/**
 * A domain error of `observe/`, typed by `code`.
 *
 * @example
 * ```ts
 * throw new ObserveError("INVALID_ARGUMENT", 'Cannot parse log level "loud": expected debug, info, warn or error');
 * ```
 */
export class ObserveError extends Error {
  /** What went wrong, for callers that branch on it. */
  readonly code: ObserveErrorCode;
  /** Creates an error with `code` and a message naming what could not be done and why. */
  constructor(code: ObserveErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ObserveError";
    this.code = code;
  }
}
