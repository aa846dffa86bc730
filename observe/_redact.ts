/**
 * Turning arbitrary values into something JSON can carry, and hiding secrets before a
 * configuration is logged.
 * @module
 */

/** What replaces a secret value. */
export const redactedText = "[redacted]";

/**
 * Key names whose values are secrets. A *path* to a key file is not a secret (and an operator
 * needs to see it), so `keyFile`, `certFile` and the like are deliberately not matched.
 */
const secretKeyPattern =
  /(^key$|secret|passw|passphrase|token|credential|api_?key|private_?key|encrypt(ion)?_?key|gossip_?key|authorization|cookie)/i;
const pathLikeKeyPattern = /(file|path|dir)$/i;
const privateKeyPemPattern = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Nesting deeper than this is cut off: a log line is not a heap dump. */
const depthMax = 8;
/** Arrays longer than this are cut off, with a note of how many items were left out. */
const itemsMax = 100;

/** Options of {@linkcode redactSecrets}. */
export interface RedactOptions {
  /** Further key names to treat as secret, on top of the built-in pattern. */
  secretKeys?: readonly string[];
}

/**
 * A deep copy of `value` where the values of secret-looking keys (`password`, `token`,
 * `gossipKey`, `secret`, …) and any PEM private key are replaced by `"[redacted]"`. Meant
 * for logging a configuration at start-up.
 *
 * @example
 * ```ts
 * redactSecrets({ dataDir: "/var/strand", gossipKey: "c2VjcmV0", tls: { keyFile: "node.key" } });
 * // { dataDir: "/var/strand", gossipKey: "[redacted]", tls: { keyFile: "node.key" } }
 * ```
 */
export function redactSecrets(value: unknown, options: RedactOptions = {}): unknown {
  const extra = new Set((options.secretKeys ?? []).map((key) => key.toLowerCase()));
  const isSecretKey = (key: string) =>
    extra.has(key.toLowerCase()) ||
    (secretKeyPattern.test(key) && !pathLikeKeyPattern.test(key));
  return copy(value, 0, new WeakSet(), isSecretKey);
}

/**
 * A JSON-safe copy of `value`: errors become `{name, message, code?, cause?}`, bigints and
 * symbols strings, byte arrays a length note, cycles and deep nesting a marker. Private keys
 * in PEM form are redacted wherever they appear.
 */
export function toJsonSafe(value: unknown): unknown {
  return copy(value, 0, new WeakSet(), () => false);
}

function copy(
  value: unknown,
  depth: number,
  seen: WeakSet<object>,
  isSecretKey: (key: string) => boolean,
): unknown {
  switch (typeof value) {
    case "string":
      return privateKeyPemPattern.test(value) ? redactedText : value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "bigint":
    case "symbol":
      return value.toString();
    case "function":
      return `[function ${value.name || "anonymous"}]`;
    case "undefined":
      return null;
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return "[cycle]";
  if (depth >= depthMax) return "[too deep]";
  if (object instanceof Date) return object.toISOString();
  if (object instanceof Uint8Array) return `[${object.byteLength} bytes]`;
  seen.add(object);
  try {
    if (object instanceof Error) return copyError(object, depth, seen, isSecretKey);
    if (Array.isArray(object)) return copyArray(object, depth, seen, isSecretKey);
    if (object instanceof Map) return copyEntries(object.entries(), depth, seen, isSecretKey);
    if (object instanceof Set) return copyArray([...object], depth, seen, isSecretKey);
    return copyEntries(Object.entries(object), depth, seen, isSecretKey);
  } finally {
    // Only ancestors count as a cycle; the same object twice side by side is fine.
    seen.delete(object);
  }
}

function copyError(
  error: Error,
  depth: number,
  seen: WeakSet<object>,
  isSecretKey: (key: string) => boolean,
): Record<string, unknown> {
  const result: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) result.code = copy(code, depth + 1, seen, isSecretKey);
  if (error.cause !== undefined) result.cause = copy(error.cause, depth + 1, seen, isSecretKey);
  return result;
}

function copyArray(
  items: readonly unknown[],
  depth: number,
  seen: WeakSet<object>,
  isSecretKey: (key: string) => boolean,
): unknown[] {
  const result = items.slice(0, itemsMax).map((item) => copy(item, depth + 1, seen, isSecretKey));
  if (items.length > itemsMax) result.push(`[${items.length - itemsMax} more]`);
  return result;
}

function copyEntries(
  entries: Iterable<[unknown, unknown]>,
  depth: number,
  seen: WeakSet<object>,
  isSecretKey: (key: string) => boolean,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  let count = 0;
  for (const [rawKey, item] of entries) {
    if (++count > itemsMax) {
      result["[more]"] = "[cut]";
      break;
    }
    const key = String(rawKey);
    result[key] = isSecretKey(key) && item !== undefined && item !== null && item !== ""
      ? redactedText
      : copy(item, depth + 1, seen, isSecretKey);
  }
  return result;
}
