/**
 * Helpers shared by the file log tests: temp directories, segment file listings, child kills.
 * @module
 */

/** Runs `body` with a fresh temp dir, removed afterwards whatever happens. */
export async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "strand-log-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Paths of the store files in `dir`, oldest segment first. */
export async function storeFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of Deno.readDir(dir)) {
    if (item.name.endsWith(".store")) names.push(item.name);
  }
  return names.sort().map((name) => `${dir}/${name}`);
}

/** The index file that goes with a store file. */
export function indexOf(storePath: string): string {
  return storePath.replace(/\.store$/, ".index");
}

/** Removes the clean-close marker, making the next open recover as after a crash. */
export async function forgetCleanClose(dir: string): Promise<void> {
  await Deno.remove(`${dir}/CLEAN`);
}

/** A deterministic value for record `i`, of varying length. */
export function valueOf(i: number): Uint8Array {
  return new TextEncoder().encode(`value-${i}-`.padEnd(10 + (i % 37), "x"));
}

/** SIGKILL, tolerating a child that already exited on its own (it then failed: see stderr). */
export function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}
