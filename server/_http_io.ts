/**
 * Small helpers for the node:http API: bounded body reading, JSON replies, base64 values.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Buffer } from "node:buffer";
import { type ServiceError, serviceError } from "./_errors.ts";
import type { ServedRecord } from "./_types.ts";

/** Reads the request body, refusing more than `bytesMax` (413). */
export function readBody(request: IncomingMessage, bytesMax: number): Promise<Uint8Array> {
  const tooLarge = () => serviceError("TOO_LARGE", `Cannot accept a body over ${bytesMax} bytes`);
  if (Number(request.headers["content-length"] ?? 0) > bytesMax) {
    request.resume(); // discard the body so the 413 can be read by the client
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let ended = false;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length <= bytesMax) {
        chunks.push(chunk);
        return;
      }
      request.off("data", onData);
      request.resume();
      chunks.length = 0;
      reject(tooLarge());
    };
    // A client that aborts its upload is its own event (499), not a server failure: the body
    // stream errors ("aborted", ECONNRESET) or closes before its end.
    const clientClosed = () =>
      reject(serviceError("CLIENT_CLOSED", "The client closed the request before its body ended"));
    request.on("data", onData);
    request.on("end", () => {
      ended = true;
      resolve(Buffer.concat(chunks));
    });
    request.on("error", clientClosed);
    request.on("close", () => {
      if (!ended) clientClosed();
    });
  });
}

/**
 * Parses a JSON object body; an empty body is `{}`. With `numbersAsText`, numbers come back as
 * their source text ("1e3", "18446744073709551615"), so offsets can be checked exactly.
 */
export function parseJson(body: Uint8Array, numbersAsText = false): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    const text = new TextDecoder().decode(body);
    // V8's JSON.parse source text access: the reviver's third argument holds the literal.
    const asText = (_key: string, value: unknown, context?: { source?: string }) =>
      typeof value === "number" && context?.source !== undefined ? context.source : value;
    parsed = numbersAsText
      ? JSON.parse(text, asText as (key: string, value: unknown) => unknown)
      : JSON.parse(text);
  } catch (error) {
    throw serviceError("INVALID_ARGUMENT", `Cannot parse the body as JSON: ${error}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw serviceError("INVALID_ARGUMENT", "Cannot use the body: expected a JSON object");
  }
  return parsed as Record<string, unknown>;
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes a record's base64 `value` (required). */
export function decodeValue(record: unknown, where: string): Uint8Array {
  const value = typeof record === "object" && record !== null
    ? (record as { value?: unknown }).value
    : undefined;
  if (typeof value !== "string" || !base64Pattern.test(value)) {
    throw serviceError("INVALID_ARGUMENT", `Cannot produce: ${where} needs a base64 "value"`);
  }
  return Buffer.from(value, "base64");
}

/** A record as JSON: base64 value, offset, term. */
export function recordJson(record: ServedRecord): { value: string; offset: number; term: number } {
  const value = Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength)
    .toString("base64");
  return { value, offset: record.offset, term: record.term };
}

/** The largest uint64, the wire type of offsets: what an offset may be. */
const uint64Max = (1n << 64n) - 1n;
const decimalPattern = /^[0-9]{1,20}$/;

/**
 * Parses an offset or count: decimal digits only ("0x10", "1e3", " 0 ", "-1", "[0]" are
 * INVALID_ARGUMENT), up to 2^64 - 1. A `bigint`, so a value above 2^53 is kept exactly for
 * the messages that quote it; callers compare it with the log's range before narrowing it.
 */
export function parseDecimal(text: unknown, name: string): bigint {
  const value = typeof text === "string" && decimalPattern.test(text) ? BigInt(text) : -1n;
  if (value < 0n || value > uint64Max) {
    const shown = text === undefined || text === null
      ? "(none given)"
      : String(JSON.stringify(text)).slice(0, 64);
    throw serviceError(
      "INVALID_ARGUMENT",
      `Cannot use ${name} ${shown}: expected a decimal integer from 0 to ${uint64Max}`,
    );
  }
  return value;
}

/** Sends a JSON reply. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const bytes = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(bytes),
  });
  response.end(bytes);
}

/** Sends an error as `{"error":{"code","message"}}` with its HTTP status. */
export function sendError(response: ServerResponse, error: ServiceError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, error.httpStatus, { error: { code: error.code, message: error.message } });
}
