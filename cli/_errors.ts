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

/** What to do about a data directory the operating system refused, by error code. */
const dataDirRemedies: Record<string, string> = {
  ENOTDIR: "a file is in the way of a directory; move it away or choose another --data-dir",
  EEXIST: "a file is in the way of a directory; move it away or choose another --data-dir",
  EISDIR: "a directory is where a file should be; move it away or choose another --data-dir",
  EACCES: "give the user that runs strand read and write access to it, or choose another " +
    "--data-dir",
  EPERM: "give the user that runs strand read and write access to it, or choose another " +
    "--data-dir",
  EROFS: "the file system is read-only; mount it read-write or choose another --data-dir",
  ENOSPC: "the disk is full; free space or choose another --data-dir",
  ENOENT: "a directory on the way does not exist; create it or choose another --data-dir",
};

/** Deno's fs errors name the path at their end ("...: mkdir './data/log'"): the cause alone. */
function causeOf(error: Error): string {
  return error.message.replace(/\s*,?\s*run again with the --allow-\w+ flag$/, "");
}

/**
 * The one-line {@linkcode CliError} (exit 1) for an error opening the data directory, or null
 * when `error` is not about `dataDir`: a runtime permission the process lacks (NotCapable), an
 * operating system refusal (a file in the way, no permission, a read-only or full file system),
 * or a log that cannot be opened (locked, damaged beyond recovery).
 */
export function dataDirError(
  error: unknown,
  dataDir: string,
  writablePaths: readonly string[],
): CliError | null {
  if (!(error instanceof Error)) return null;
  const where = `Cannot use --data-dir=${dataDir}`;
  if (error instanceof Deno.errors.NotCapable) {
    const allowed = writablePaths.join(", ");
    return new CliError(
      `${where}: ${causeOf(error)}, which this process's permissions do not grant (as ` +
        `shipped it may write only under ${allowed}); use a data dir there, or widen them with ` +
        `--allow-read=${dataDir} --allow-write=${dataDir} (deno run, or deno compile)`,
      1,
    );
  }
  const code = (error as { code?: unknown }).code;
  if (error.name === "LogError") return new CliError(`${where}: ${error.message}`, 1);
  if (typeof code !== "string" || !error.message.includes(dataDir)) return null;
  const remedy = dataDirRemedies[code] ?? "check the directory or choose another --data-dir";
  return new CliError(`${where}: ${causeOf(error)}; ${remedy}`, 1);
}
