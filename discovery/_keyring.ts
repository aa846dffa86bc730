/**
 * AES-256-GCM sealing of every gossip packet and stream under a shared keyring: one
 * primary key encrypts, every installed key may decrypt (so a new key can be rolled out
 * before it becomes primary, and an old one kept until every node moved on).
 *
 * Envelope: version (1 byte, also authenticated as associated data) | nonce (12) |
 * ciphertext + tag (16). Nonces are random: at gossip rates the 2^-32 collision bound of
 * random 96-bit nonces is never approached before a key rotation.
 * @module
 */

import { DiscoveryError } from "./_errors.ts";

const envelopeVersion = 1;
const nonceBytes = 12;
const keyBytes = 32;
const keysMax = 8;
const associatedData = new Uint8Array([envelopeVersion]);

interface InstalledKey {
  readonly raw: Uint8Array;
  readonly key: CryptoKey;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

/** Decodes a `--gossip-key` value: base64 of exactly 32 bytes. */
export function parseGossipKey(base64: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(base64.trim()), (char) => char.charCodeAt(0));
  } catch (error) {
    throw new DiscoveryError("INVALID_KEY", "Cannot use gossip key: it is not valid base64", {
      cause: error,
    });
  }
  if (bytes.length !== keyBytes) {
    throw new DiscoveryError(
      "INVALID_KEY",
      `Cannot use gossip key: it decodes to ${bytes.length} bytes, AES-256 needs 32`,
    );
  }
  return bytes;
}

/**
 * Decodes a gossip key file (`--gossip-key-file`): one base64 key per line, blank lines
 * and `#` comments ignored. The first key is the primary (it seals); the others are only
 * accepted to open, which is how a rotation is rolled out.
 */
export function parseGossipKeyFile(text: string): { primary: Uint8Array; extra: Uint8Array[] } {
  const keys: Uint8Array[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      keys.push(parseGossipKey(line));
    } catch (error) {
      throw new DiscoveryError(
        "INVALID_KEY",
        `Cannot use gossip key file: line ${i + 1}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  const [primary, ...extra] = keys;
  if (primary === undefined) {
    throw new DiscoveryError(
      "INVALID_KEY",
      "Cannot use gossip key file: it holds no key (want one base64 key of 32 bytes per line)",
    );
  }
  if (keys.length > keysMax) {
    throw new DiscoveryError(
      "INVALID_KEY",
      `Cannot use gossip key file: it holds ${keys.length} keys, at most ${keysMax}`,
    );
  }
  return { primary, extra };
}

/** A fresh random key, base64-encoded, for `--gossip-key`. */
export function generateGossipKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(keyBytes));
  return btoa(String.fromCharCode(...bytes));
}

async function importKey(raw: Uint8Array): Promise<InstalledKey> {
  if (raw.length !== keyBytes) {
    throw new DiscoveryError("INVALID_KEY", `Cannot install a ${raw.length}-byte key: need 32`);
  }
  const copy = raw.slice();
  const key = await crypto.subtle.importKey("raw", copy, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return { raw: copy, key };
}

/**
 * The keys a node seals and opens gossip with.
 *
 * @example
 * ```ts
 * const keyring = await Keyring.create(parseGossipKey(flagValue));
 * const sealed = await keyring.seal(plaintext);
 * const opened = await keyring.open(sealed); // null when no key authenticates it
 * ```
 */
export class Keyring {
  /** Installed keys; index 0 is the primary. */
  #keys: InstalledKey[];

  private constructor(keys: InstalledKey[]) {
    this.#keys = keys;
  }

  /** A keyring with `primary` and, optionally, extra keys accepted for decryption. */
  static async create(primary: Uint8Array, extra: readonly Uint8Array[] = []): Promise<Keyring> {
    if (extra.length + 1 > keysMax) {
      throw new DiscoveryError("INVALID_KEY", `Cannot hold ${extra.length + 1} keys: at most 8`);
    }
    const keys = [await importKey(primary)];
    for (const raw of extra) keys.push(await importKey(raw));
    return new Keyring(keys);
  }

  /** Number of installed keys. */
  get size(): number {
    return this.#keys.length;
  }

  /** Adds a key accepted for decryption (a rotation's first step). */
  async install(raw: Uint8Array): Promise<void> {
    if (this.#keys.some((entry) => sameBytes(entry.raw, raw))) return;
    if (this.#keys.length >= keysMax) {
      throw new DiscoveryError("INVALID_KEY", "Cannot install another key: the keyring holds 8");
    }
    this.#keys.push(await importKey(raw));
  }

  /** Makes an installed key the primary (a rotation's second step). */
  use(raw: Uint8Array): void {
    const index = this.#keys.findIndex((entry) => sameBytes(entry.raw, raw));
    if (index < 0) {
      throw new DiscoveryError("INVALID_KEY", "Cannot use a key that is not installed");
    }
    const [entry] = this.#keys.splice(index, 1) as [InstalledKey];
    this.#keys.unshift(entry);
  }

  /** Removes a key that is not the primary (a rotation's last step). */
  remove(raw: Uint8Array): void {
    const index = this.#keys.findIndex((entry) => sameBytes(entry.raw, raw));
    if (index === 0) throw new DiscoveryError("INVALID_KEY", "Cannot remove the primary key");
    if (index > 0) this.#keys.splice(index, 1);
  }

  /**
   * Replaces the whole key set (a reloaded key file): `primary` seals from now on, `extra`
   * keys still open, every other key is dropped. Validates every key before changing
   * anything.
   */
  async setKeys(primary: Uint8Array, extra: readonly Uint8Array[] = []): Promise<void> {
    if (extra.length + 1 > keysMax) {
      throw new DiscoveryError("INVALID_KEY", `Cannot hold ${extra.length + 1} keys: at most 8`);
    }
    const keys = [await importKey(primary)];
    for (const raw of extra) {
      if (!keys.some((entry) => sameBytes(entry.raw, raw))) keys.push(await importKey(raw));
    }
    this.#keys = keys;
  }

  /** Encrypts and authenticates `plaintext` under the primary key. */
  async seal(plaintext: Uint8Array): Promise<Uint8Array> {
    const nonce = crypto.getRandomValues(new Uint8Array(nonceBytes));
    const primary = this.#keys[0] as InstalledKey;
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: nonce, additionalData: associatedData },
        primary.key,
        new Uint8Array(plaintext),
      ),
    );
    const sealed = new Uint8Array(1 + nonceBytes + ciphertext.length);
    sealed[0] = envelopeVersion;
    sealed.set(nonce, 1);
    sealed.set(ciphertext, 1 + nonceBytes);
    return sealed;
  }

  /** The plaintext of `sealed`, or null when no installed key authenticates it. */
  async open(sealed: Uint8Array): Promise<Uint8Array | null> {
    if (sealed.length < 1 + nonceBytes + 16 || sealed[0] !== envelopeVersion) return null;
    const nonce = sealed.slice(1, 1 + nonceBytes);
    const ciphertext = sealed.slice(1 + nonceBytes);
    for (const entry of this.#keys) {
      try {
        const plaintext = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: nonce, additionalData: associatedData },
          entry.key,
          ciphertext,
        );
        return new Uint8Array(plaintext);
      } catch {
        // Not this key (or tampered): try the next one.
      }
    }
    return null;
  }
}
