import {
  generateGossipKey,
  Keyring,
  parseGossipKey,
  parseGossipKeyFile,
} from "../../discovery/mod.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const plaintext = new TextEncoder().encode("alive node-1 incarnation 3");

Deno.test("keyring: sealed packets open under the same key and carry 29 bytes of overhead", async () => {
  const keyring = await Keyring.create(parseGossipKey(generateGossipKey()));
  const sealed = await keyring.seal(plaintext);
  assertEquals(sealed.length, plaintext.length + 29);
  assertEquals(await keyring.open(sealed), plaintext);
  const again = await keyring.seal(plaintext);
  assert(again.some((byte, i) => byte !== sealed[i]), "random nonces make two seals differ");
});

Deno.test("keyring: a wrong key, a flipped bit or a short packet fails authentication", async () => {
  const keyring = await Keyring.create(parseGossipKey(generateGossipKey()));
  const other = await Keyring.create(parseGossipKey(generateGossipKey()));
  const sealed = await keyring.seal(plaintext);
  assertEquals(await other.open(sealed), null);
  for (const position of [0, 5, sealed.length - 1]) {
    const tampered = sealed.slice();
    tampered[position] = (tampered[position] as number) ^ 1;
    assertEquals(await keyring.open(tampered), null, `bit flipped at ${position}`);
  }
  assertEquals(await keyring.open(sealed.subarray(0, 20)), null);
});

Deno.test("keyring: rotation: install, use, remove", async () => {
  const oldKey = parseGossipKey(generateGossipKey());
  const newKey = parseGossipKey(generateGossipKey());
  const node = await Keyring.create(oldKey);
  const laggard = await Keyring.create(oldKey);
  await node.install(newKey);
  node.use(newKey);
  const sealedWithNew = await node.seal(plaintext);
  assertEquals(
    await laggard.open(sealedWithNew),
    null,
    "a node without the new key cannot read it",
  );
  assertEquals(await node.open(await laggard.seal(plaintext)), plaintext, "old key still accepted");
  node.remove(oldKey);
  assertEquals(node.size, 1);
  assertEquals(await node.open(await laggard.seal(plaintext)), null, "old key no longer accepted");
  assertThrows(() => node.remove(newKey), "INVALID_KEY");
  assertThrows(() => node.use(oldKey), "INVALID_KEY");
});

Deno.test("keyring: gossip keys must be base64 of exactly 32 bytes", () => {
  assertThrows(() => parseGossipKey("not base64 !"), "INVALID_KEY");
  assertThrows(() => parseGossipKey(btoa("short")), "INVALID_KEY");
  assertEquals(parseGossipKey(generateGossipKey()).length, 32);
});

Deno.test("keyring: a key file names the primary first; a reload replaces the whole key set", async () => {
  const [a, b, c] = [generateGossipKey(), generateGossipKey(), generateGossipKey()];
  const file = parseGossipKeyFile(`# rotated in May\n${b}\n\n${a}\n`);
  assertEquals([...file.primary], [...parseGossipKey(b)]);
  assertEquals(file.extra.map((key) => [...key]), [[...parseGossipKey(a)]]);
  assertThrows(() => parseGossipKeyFile("# nothing\n"), "INVALID_KEY");
  assertThrows(() => parseGossipKeyFile(`${a}\nnot-base64!\n`), "INVALID_KEY");
  const keyring = await Keyring.create(parseGossipKey(a));
  const sealedUnderA = await keyring.seal(plaintext);
  await keyring.setKeys(file.primary, file.extra);
  const sealedUnderB = await keyring.seal(plaintext);
  assertEquals(await (await Keyring.create(parseGossipKey(b))).open(sealedUnderB), plaintext);
  assertEquals(await keyring.open(sealedUnderA), plaintext, "a is still accepted");
  await keyring.setKeys(parseGossipKey(c));
  assertEquals(keyring.size, 1);
  assertEquals(await keyring.open(sealedUnderA), null, "a was dropped");
});
