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
    request.on("data", onData);
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

/** Parses a JSON object body; an empty body is `{}`. */
export function parseJson(body: Uint8Array): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
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

/** Parses a non-negative integer parameter. */
export function parseOffset(text: string | null | undefined, name: string): number {
  const value = Number(text);
  if (
    text === null || text === undefined || text === "" || !Number.isSafeInteger(value) || value < 0
  ) {
    throw serviceError(
      "INVALID_ARGUMENT",
      `Cannot use ${name}="${text}": expected an integer >= 0`,
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
