/**
 * Reads what `deno compile` (Deno 2.8.3, Linux) appends to the runtime binary: after the
 * runtime's own bytes comes the magic `d3n0l4nd`, then length-prefixed sections (u64 little
 * endian): the metadata JSON (entrypoint, permissions, V8 flags), the npm snapshot (u32 count,
 * then u32-length-prefixed `name@version` ids), the remote modules (12 zero bytes when there
 * are none), the virtual file system as JSON, then the files' bytes. Learned by reading the
 * output of this Deno version; a change of format fails the test that uses it, loudly.
 */

/** What the payload says. */
export interface Payload {
  metadata: {
    entrypoint_key: string;
    argv: string[];
    v8_flags: string[];
    permissions: Record<string, unknown>;
    [key: string]: unknown;
  };
  /** npm package ids (`name@version`) in the snapshot. */
  npmPackages: string[];
  /** Bytes of the remote-modules section (12 zero bytes: none). */
  remoteModules: Uint8Array;
  /** Every file path in the virtual file system, `/`-separated from its root. */
  files: string[];
}

const MAGIC = new TextEncoder().encode("d3n0l4nd");

class Reader {
  #at: number;
  constructor(readonly bytes: Uint8Array, at: number) {
    this.#at = at;
  }
  get at(): number {
    return this.#at;
  }
  take(count: number): Uint8Array {
    if (this.#at + count > this.bytes.length) throw new Error(`payload ends at ${this.#at}`);
    const out = this.bytes.subarray(this.#at, this.#at + count);
    this.#at += count;
    return out;
  }
  u32(): number {
    return new DataView(this.take(4).slice().buffer).getUint32(0, true);
  }
  u64(): number {
    const value = new DataView(this.take(8).slice().buffer).getBigUint64(0, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`length ${value} is not a length`);
    return Number(value);
  }
  section(): Uint8Array {
    return this.take(this.u64());
  }
}

function npmIds(section: Uint8Array): string[] {
  const reader = new Reader(section, 0);
  const count = reader.u32();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(new TextDecoder().decode(reader.take(reader.u32())));
  return ids;
}

type VfsEntry =
  | { Dir: { n: string; e: VfsEntry[] } }
  | { File: { n: string } }
  | { Symlink: { n: string } };

function vfsFiles(entries: VfsEntry[], prefix: string, out: string[]): string[] {
  for (const entry of entries) {
    if ("Dir" in entry) vfsFiles(entry.Dir.e, `${prefix}${entry.Dir.n}/`, out);
    else if ("File" in entry) out.push(`${prefix}${entry.File.n}`);
    else out.push(`${prefix}${entry.Symlink.n}`);
  }
  return out;
}

/** Parses the payload of `binary`, which starts right after the runtime's `runtimeBytes`. */
export function readPayload(binary: Uint8Array, runtimeBytes: number): Payload {
  const magic = binary.subarray(runtimeBytes, runtimeBytes + MAGIC.length);
  if (magic.join() !== MAGIC.join()) throw new Error(`no d3n0l4nd at byte ${runtimeBytes}`);
  const reader = new Reader(binary, runtimeBytes + MAGIC.length);
  const metadata = JSON.parse(new TextDecoder().decode(reader.section()));
  const npmPackages = npmIds(reader.section());
  // The remote modules section has no outer length: find the VFS, whose JSON starts "[{".
  const start = reader.at;
  let vfsAt = start + 8;
  while (vfsAt - start < 4096 && !(binary[vfsAt] === 0x5b && binary[vfsAt + 1] === 0x7b)) vfsAt++;
  if (vfsAt - start >= 4096) throw new Error("no file system section");
  const remoteModules = binary.subarray(start, vfsAt - 8);
  const vfsReader = new Reader(binary, vfsAt - 8);
  const vfs = JSON.parse(new TextDecoder().decode(vfsReader.section())) as VfsEntry[];
  return { metadata, npmPackages, remoteModules, files: vfsFiles(vfs, "", []) };
}
