/**
 * Errors the command line reports as one line and an exit code, without a stack trace.
 * @module
 */

/** A usage or configuration error: printed as `strand: <message>`, exit code 2. */
export class CliError extends Error {
  /** The process exit code (2: usage, 1: runtime failure). */
  readonly exitCode: number;
  /** A message for the user, without a stack trace. */
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
