/**
 * Errors the command line reports as one line and an exit code, without a stack trace.
 * @module
 */

/** A usage or configuration error: printed as `strand: <message>`, exit code 2. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
