/**
 * A raw HTTP/1.1 client over TCP that keeps the bytes as sent: the tests must see whether a
 * chunked body ended with its terminating zero chunk, which fetch hides.
 */
import { decoder, encoder } from "./_assert.ts";

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  /** The body after de-chunking. */
  body: string;
  /** The body bytes as they came (chunk sizes included). */
  rawBody: string;
  /** Whether a chunked body ended with the zero chunk (a complete response). */
  complete: boolean;
}

/** Sends one request (`connection: close`) and reads until the server closes or resets. */
export async function rawRequest(
  port: number,
  method: string,
  target: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<RawReply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const payload = encoder.encode(options.body ?? "");
    const extra = Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    const head = `${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n` +
      `${extra}content-length: ${payload.length}\r\n\r\n`;
    const bytes = new Uint8Array([...encoder.encode(head), ...payload]);
    for (let sent = 0; sent < bytes.length;) sent += await conn.write(bytes.subarray(sent));
    let text = "";
    const buffer = new Uint8Array(64 * 1024);
    for (let i = 0; i < 100_000; i++) {
      const n = await conn.read(buffer).catch(() => null); // a reset ends the read too
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n));
    }
    return parseRaw(text);
  } finally {
    conn.close();
  }
}

function parseRaw(text: string): RawReply {
  const split = text.indexOf("\r\n\r\n");
  const lines = text.slice(0, split).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rawBody = text.slice(split + 4);
  const chunked = headers["transfer-encoding"] === "chunked";
  const { body, complete } = chunked
    ? unchunk(rawBody)
    : { body: rawBody, complete: rawBody.length === Number(headers["content-length"]) };
  return { status: Number(lines[0]?.split(" ")[1]), headers, body, rawBody, complete };
}

function unchunk(text: string): { body: string; complete: boolean } {
  let body = "";
  let at = 0;
  for (let i = 0; i < 1_000_000 && at < text.length; i++) {
    const eol = text.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = parseInt(text.slice(at, eol), 16);
    if (Number.isNaN(size)) break;
    if (size === 0) return { body, complete: text.slice(eol, eol + 4) === "\r\n\r\n" };
    body += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return { body, complete: false };
}
