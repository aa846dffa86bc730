import { crc32c } from "../../log/mod.ts";
import { assertEquals, bytes } from "./_assert.ts";

Deno.test("crc32c matches the known answers of RFC 3720 and the check value", () => {
  assertEquals(crc32c(bytes("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array(0)), 0);
  assertEquals(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assertEquals(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  assertEquals(crc32c(ascending), 0x46dd794e);
});

Deno.test("crc32c extends a running checksum and honours start/end", () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
  const whole = crc32c(data);
  for (const split of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assertEquals(crc32c(data.subarray(split), crc32c(data.subarray(0, split))), whole);
  }
  assertEquals(crc32c(data, 0, 10, 20), crc32c(data.subarray(10, 20)));
});

/** The definition, one bit at a time: the reference the table-driven form must match. */
function bitwiseCrc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

Deno.test("crc32c matches the bitwise definition at every length and alignment", () => {
  const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 151 + 17) & 0xff);
  for (let start = 0; start < 17; start++) {
    for (let end = start; end <= data.length; end++) {
      const expected = bitwiseCrc32c(data.subarray(start, end));
      assertEquals(crc32c(data, 0, start, end), expected, `bytes ${start}..${end}`);
    }
  }
});
