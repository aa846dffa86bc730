/**
 * Calls back when any of a few files changes. Files are watched by path, not by
 * directory, so the node needs read permission on those files only. Rotation usually
 * replaces a file (rename over it, or a Kubernetes secret's symlink swap), which ends an
 * inotify watch on the old inode; so after each change the watch is re-armed on the same
 * paths *before* the callback runs, and no change between the two is lost.
 * @module
 */

/** The few log calls this area makes; `observe/`'s logger satisfies it. */
export interface SecurityLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@linkcode FileWatch}. */
export interface FileWatchOptions {
  /** Quiet time after a change before the callback, to let a multi-file rotation finish. */
  settleMs?: number;
  /** Attempts to re-arm while a file is briefly missing, before giving up (logged). */
  rearmAttemptsMax?: number;
  logger: SecurityLogger;
}

/** Watches files and calls `onChange` once per burst of changes. */
export class FileWatch {
  readonly #paths: string[];
  readonly #onChange: () => void;
  readonly #settleMs: number;
  readonly #rearmAttemptsMax: number;
  readonly #logger: SecurityLogger;
  #watcher: Deno.FsWatcher | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  readonly #done: Promise<void>;

  /** Starts watching at once. */
  constructor(paths: readonly string[], onChange: () => void, options: FileWatchOptions) {
    this.#paths = [...paths];
    this.#onChange = onChange;
    this.#settleMs = options.settleMs ?? 100;
    this.#rearmAttemptsMax = options.rearmAttemptsMax ?? 50;
    this.#logger = options.logger;
    this.#done = this.#run();
  }

  /** Stops watching; resolves once nothing is left running. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#done;
  }

  async #run(): Promise<void> {
    let changed = false;
    while (!this.#closed) {
      const watcher = await this.#arm();
      if (watcher === undefined) return;
      if (changed) this.#onChange();
      changed = false;
      for await (const event of watcher) {
        if (event.kind !== "access") {
          changed = true;
          break;
        }
      }
      watcher.close();
      this.#watcher = undefined;
      if (changed) await this.#pause(this.#settleMs);
    }
  }

  /** Opens a watcher on the paths, retrying while a file is missing mid-rotation. */
  async #arm(): Promise<Deno.FsWatcher | undefined> {
    for (let attempt = 1; attempt <= this.#rearmAttemptsMax && !this.#closed; attempt++) {
      try {
        this.#watcher = Deno.watchFs(this.#paths, { recursive: false });
        return this.#watcher;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) {
          this.#logger.error("Cannot watch security files; reload with SIGHUP instead", {
            paths: this.#paths,
            error: String(error),
          });
          return undefined;
        }
        await this.#pause(this.#settleMs);
      }
    }
    if (!this.#closed) {
      this.#logger.error("Cannot watch security files: still missing; reload with SIGHUP", {
        paths: this.#paths,
      });
    }
    return undefined;
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }
}
