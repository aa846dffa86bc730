/** Codes of {@linkcode DiscoveryError}; values never change meaning. */
export type DiscoveryErrorCode =
  | "INVALID_KEY"
  | "MALFORMED_PACKET"
  | "AUTHENTICATION_FAILED"
  | "TOO_LARGE"
  | "INVALID_ARGUMENT"
  | "JOIN_FAILED"
  | "NAME_CONFLICT"
  | "TIMEOUT"
  | "CLOSED";

/**
 * A domain error of the membership layer, with a stable `code` and a message of the form
 * "Cannot decode packet: 3 bytes left, a string needs 9".
 */
export class DiscoveryError extends Error {
  /** Error class name, for logs. */
  override name = "DiscoveryError";
  /** Stable machine-readable cause; messages may change, codes never do. */
  readonly code: DiscoveryErrorCode;

  /** An error with `code` and a message of the form "Cannot …: …". */
  constructor(code: DiscoveryErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
