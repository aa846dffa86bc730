/**
 * Reads the ALPN protocols a TLS ClientHello offers, before any TLS library sees the
 * connection: the RPC port chooses who terminates TLS (grpc-js for "h2", the peer transport
 * for "strand-raft", each with its own certificate authority) from them.
 * @module
 */

/** TLS record type of handshake messages. */
export const tlsHandshakeRecord = 0x16;
const clientHelloType = 0x01;
const alpnExtension = 0x0010;
/** The largest TLS record (2^14) plus its 5-byte header: a ClientHello fits in one. */
export const tlsRecordBytesMax = 16_384 + 2048 + 5;

/**
 * How many bytes the first TLS record needs in total, from its header (null while fewer
 * than 5 bytes are known).
 */
export function firstRecordBytes(bytes: Uint8Array): number | null {
  if (bytes.length < 5) return null;
  return 5 + ((bytes[3]! << 8) | bytes[4]!);
}

/**
 * The ALPN protocol names of the ClientHello in `record` (the first TLS record, whole);
 * null when it is not a ClientHello this parser understands, [] when it offers no ALPN.
 */
export function alpnOffered(record: Uint8Array): string[] | null {
  if (record.length < 9 || record[0] !== tlsHandshakeRecord) return null;
  if (record[5] !== clientHelloType) return null;
  const end = Math.min(record.length, 9 + ((record[6]! << 16) | (record[7]! << 8) | record[8]!));
  let at = 9 + 2 + 32; // version, random
  const skip = (lengthBytes: number): boolean => {
    if (at + lengthBytes > end) return false;
    let length = 0;
    for (let i = 0; i < lengthBytes; i++) length = (length << 8) | record[at + i]!;
    at += lengthBytes + length;
    return at <= end;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return null; // session id, cipher suites, compression
  if (at === end) return [];
  if (at + 2 > end) return null;
  const extensionsEnd = Math.min(end, at + 2 + ((record[at]! << 8) | record[at + 1]!));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = (record[at]! << 8) | record[at + 1]!;
    const length = (record[at + 2]! << 8) | record[at + 3]!;
    at += 4;
    if (at + length > extensionsEnd) return null;
    if (type === alpnExtension) return protocolNames(record.subarray(at, at + length));
    at += length;
  }
  return [];
}

function protocolNames(data: Uint8Array): string[] | null {
  if (data.length < 2) return null;
  const end = Math.min(data.length, 2 + ((data[0]! << 8) | data[1]!));
  const names: string[] = [];
  const decoder = new TextDecoder();
  for (let at = 2; at < end;) {
    const length = data[at]!;
    if (at + 1 + length > end) return null;
    names.push(decoder.decode(data.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  return names;
}
