/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every stored frame.
 *
 * Table-driven "slicing by 16": sixteen 256-entry tables, laid out in one flat Int32Array,
 * let the loop consume sixteen bytes per iteration. Every append and every read checksums
 * its bytes, on every replica: this form runs at ~700 MB/s in V8 here, 2.3 times the
 * slicing-by-8 form it replaced (which used eight separate Uint32Arrays), and that made the
 * checksum the largest single CPU cost of writing a 500-record batch.
 * @module
 */

const POLYNOMIAL_REFLECTED = 0x82f63b78;
/** Tables per iteration: bytes consumed per step of the main loop. */
const SLICES = 16;

/**
 * Table `t` (at `t * 256`) maps a byte to its CRC contribution when `t` more bytes follow it;
 * table 0 is the classic byte-at-a-time table. Int32 (not Uint32) keeps the values small
 * integers for V8, so the XOR chain never leaves int32 arithmetic.
 */
function buildTables(): Int32Array {
  const tables = new Int32Array(SLICES * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1;
    tables[n] = c;
  }
  for (let t = 1; t < SLICES; t++) {
    for (let n = 0; n < 256; n++) {
      const p = tables[(t - 1) * 256 + n]!;
      tables[t * 256 + n] = (p >>> 8) ^ tables[p & 0xff]!;
    }
  }
  return tables;
}

const T = buildTables();

/**
 * Extends a running CRC32C with `bytes[start, end)`. Start a fresh checksum with `crc = 0`.
 *
 * @example
 * ```ts
 * const crc = crc32c(new TextEncoder().encode("123456789")); // 0xE3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc;
  let i = start;
  const end16 = start + ((end - start) & ~15);
  // Indexing a typed array out of bounds yields undefined; the loop bounds make that
  // impossible, so the non-null assertions below are exact, not hopeful.
  while (i < end16) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) |
      (bytes[i + 3]! << 24));
    c = T[3840 + (lo & 0xff)]! ^ T[3584 + ((lo >>> 8) & 0xff)]! ^
      T[3328 + ((lo >>> 16) & 0xff)]! ^ T[3072 + (lo >>> 24)]! ^
      T[2816 + bytes[i + 4]!]! ^ T[2560 + bytes[i + 5]!]! ^ T[2304 + bytes[i + 6]!]! ^
      T[2048 + bytes[i + 7]!]! ^ T[1792 + bytes[i + 8]!]! ^ T[1536 + bytes[i + 9]!]! ^
      T[1280 + bytes[i + 10]!]! ^ T[1024 + bytes[i + 11]!]! ^ T[768 + bytes[i + 12]!]! ^
      T[512 + bytes[i + 13]!]! ^ T[256 + bytes[i + 14]!]! ^ T[bytes[i + 15]!]!;
    i += 16;
  }
  while (i < end) c = T[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
