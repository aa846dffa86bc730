/**
 * Deterministic record values of the crash test: each names its round, writer and sequence
 * number and carries filler whose length and bytes derive from them, so the parent can check
 * that every record it finds is intact and where it belongs.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The value writer `writer` appends as its `seq`-th record of `round`. */
export function crashValue(round: number, writer: number, seq: number): Uint8Array {
  const mix = Math.imul(round * 1_000_003 + writer * 7919 + seq, 0x9e3779b1) >>> 0;
  const filler = String.fromCharCode(97 + (mix % 26)).repeat(mix % 300);
  return encoder.encode(`${round}:${writer}:${seq}:${filler}`);
}

/** Parses a value back into its identity; null if it is not a value `crashValue` makes. */
export function parseCrashValue(
  value: Uint8Array,
): { round: number; writer: number; seq: number } | null {
  const match = /^(\d+):(\d+):(\d+):/.exec(decoder.decode(value.subarray(0, 40)));
  if (match === null) return null;
  const identity = { round: Number(match[1]), writer: Number(match[2]), seq: Number(match[3]) };
  const expected = crashValue(identity.round, identity.writer, identity.seq);
  const same = expected.length === value.length && expected.every((b, i) => b === value[i]);
  return same ? identity : null;
}
