/**
 * Typed errors of the security area. Only `server/` maps them to transport codes
 * (`PERMISSION_DENIED` → gRPC 7 / HTTP 403, `UNAUTHENTICATED` → gRPC 16 / HTTP 401).
 * @module
 */

/** Codes of {@linkcode SecurityError}; values never change meaning. */
export type SecurityErrorCode =
  /** A certificate, key or CA file is missing, unreadable or malformed. */
  | "TLS_FILE_INVALID"
  /** The private key does not belong to the certificate. */
  | "TLS_KEY_MISMATCH"
  /** An ACL model or policy file is missing, unreadable or malformed. */
  | "ACL_FILE_INVALID"
  /** A `certs` invocation was given bad arguments or files. */
  | "CERTS_INVALID"
  /** Security flags that do not fit together (a certificate without its key, …). */
  | "FLAGS_INVALID";

/** An operator-facing configuration problem (bad files, bad arguments). */
export class SecurityError extends Error {
  /** Stable machine-readable code. */
  readonly code: SecurityErrorCode;

  /**
   * @param code what went wrong, stable across releases
   * @param message "Cannot …: …" sentence for humans
   */
  constructor(code: SecurityErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SecurityError";
    this.code = code;
  }
}

/** The actions the ACL knows. `admin` guards cluster-management calls. */
export type Action = "produce" | "consume" | "admin";

/** All actions, for validation and help texts. */
export const ACTIONS: readonly Action[] = ["produce", "consume", "admin"];

/**
 * A caller was not allowed to do something. `server/` maps it to gRPC PERMISSION_DENIED
 * and HTTP 403; the message names subject and action.
 *
 * @example
 * ```ts
 * const error = new AuthorizationError("nobody", "produce");
 * error.message; // 'Cannot produce as "nobody": the ACL does not allow it'
 * ```
 */
export class AuthorizationError extends Error {
  /** Always `PERMISSION_DENIED`, for symmetry with other coded errors. */
  readonly code = "PERMISSION_DENIED" as const;
  /** The authenticated subject (certificate Common Name); empty when anonymous. */
  readonly subject: string;
  /** The action that was refused. */
  readonly action: Action;

  /**
   * @param subject the caller's subject, empty when the caller presented no certificate
   * @param action the refused action
   */
  constructor(subject: string, action: Action) {
    const who = subject === "" ? "an anonymous caller (no client certificate)" : `"${subject}"`;
    super(`Cannot ${action} as ${who}: the ACL does not allow it`);
    this.name = "AuthorizationError";
    this.subject = subject;
    this.action = action;
  }
}
