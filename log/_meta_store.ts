/**
 * {@linkcode openMetaStore}: a small durable blob replaced atomically (Raft's term, vote and
 * membership). The file holds `u32 length | u32 crc32c | bytes`, so a damaged file is reported
 * as `CORRUPT` instead of being decoded into a wrong vote.
 * @module
 */

import { crc32c } from "./_crc32c.ts";
import { writeAtomically } from "./_dir.ts";
import { DENO_FS, type LogFs } from "./_fs.ts";
import { ignoreNotFound } from "./_segment.ts";
import { LogError, type MetaStore } from "./types.ts";

const HEADER_BYTES = 8;

/**
 * Opens the meta store at `path` (its directory must exist), loading the last saved bytes.
 *
 * @example
 * ```ts
 * const meta = await openMetaStore("./data/raft.meta");
 * await meta.save(new TextEncoder().encode(JSON.stringify({ term: 3, vote: "n2" })));
 * ```
 * `fs` is the file system it lives on (default the real one; tests pass a simulated disk).
 */
export async function openMetaStore(path: string, fs: LogFs = DENO_FS): Promise<MetaStore> {
  let stored: Uint8Array | null = null;
  try {
    stored = decode(await fs.readFile(path), path);
  } catch (error) {
    ignoreNotFound(error);
  }
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const name = path.slice(slash + 1);
  let current = stored;
  let saving: Promise<void> = Promise.resolve();
  return {
    load: () => current?.slice() ?? null,
    save(bytes: Uint8Array): Promise<void> {
      const copy = bytes.slice();
      // Saves run one after another: each rename must land in call order.
      const next = saving.then(() => writeAtomically(fs, dir, name, encode(copy))).then(() => {
        current = copy;
      });
      saving = next.catch(() => {});
      return next;
    },
  };
}

function encode(bytes: Uint8Array): Uint8Array {
  const framed = new Uint8Array(HEADER_BYTES + bytes.length);
  const view = new DataView(framed.buffer);
  view.setUint32(0, bytes.length, true);
  view.setUint32(4, crc32c(bytes), true);
  framed.set(bytes, HEADER_BYTES);
  return framed;
}

function decode(framed: Uint8Array, path: string): Uint8Array {
  const fail = (why: string) => new LogError("CORRUPT", `Cannot load ${path}: ${why}`);
  if (framed.length < HEADER_BYTES) throw fail("the file is shorter than its header");
  const view = new DataView(framed.buffer, framed.byteOffset, framed.length);
  const length = view.getUint32(0, true);
  if (length !== framed.length - HEADER_BYTES) {
    throw fail("its length field disagrees with its size");
  }
  const bytes = framed.slice(HEADER_BYTES);
  if (view.getUint32(4, true) !== crc32c(bytes)) throw fail("it fails its checksum");
  return bytes;
}
