/**
 * The JSON/HTTP API: the book's chapter-1 routes (`POST /`, `GET /` with a body), the REST
 * form under `/v1/records`, the health probes and the status page (`/ui`).
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { outOfRange, serviceError } from "./_errors.ts";
import {
  decodeValue,
  parseDecimal,
  parseJson,
  readBody,
  recordJson,
  sendJson,
} from "./_http_io.ts";
import { streamHttpRecords } from "./_http_stream.ts";
import { sendUiPage, wantsUiPage } from "./_ui_page.ts";
import { confirmedEnd } from "./_grpc.ts";
import { produceResponse, producerOf } from "./_grpc_codec.ts";
import { httpCluster, httpStatus } from "./_admin.ts";
import type { Service } from "./_service.ts";
import type { ProducerRef, ServedRecord } from "./_types.ts";

/** Handles one request; `url` is already parsed. */
export type HttpHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
) => void | Promise<void>;

/** Limits of the HTTP API. */
export interface HttpLimits {
  /** Largest request body accepted (base64 makes a value 4/3 larger). */
  bodyBytesMax: number;
}

function subjectOf(request: IncomingMessage): string {
  const socket = request.socket as Partial<TLSSocket>;
  const name = socket.getPeerCertificate?.()?.subject?.CN ?? "";
  return Array.isArray(name) ? name.join(",") : name;
}

async function readRecord(service: Service, offset: bigint): Promise<ServedRecord> {
  const log = service.context.log;
  const first = log.firstOffset();
  // Past 2^53 no log reaches: no need to ask the leader where the end is.
  const safe = offset <= BigInt(Number.MAX_SAFE_INTEGER);
  const next = safe ? await confirmedEnd(service.context, Number(offset)) : log.nextOffset();
  if (offset < BigInt(first) || offset >= BigInt(next)) throw outOfRange(offset, first, next);
  return log.read(Number(offset));
}

async function produceValues(
  service: Service,
  request: IncomingMessage,
  values: Uint8Array[],
  producer?: ProducerRef,
): Promise<HttpProduceAnswer> {
  await service.context.admit(subjectOf(request), "produce");
  const ack = await service.context.log.append(values, producer);
  const { offset, count, replicasFsynced, commitIndex, duplicate, durable } = produceResponse(
    ack,
    values.length,
  );
  return { offset, count, replicasFsynced, commitIndex, duplicate, durable };
}

/** The acknowledgement fields of an HTTP produce answer (the gRPC answer's, in camelCase). */
interface HttpProduceAnswer {
  offset: number;
  count: number;
  replicasFsynced: number;
  commitIndex: number;
  duplicate: boolean;
  durable: boolean;
}

/** Builds the route table ("METHOD /path" → handler); `{offset}` routes are matched apart. */
export function httpRoutes(service: Service, limits: HttpLimits): Map<string, HttpHandler> {
  const body = async (request: IncomingMessage, numbersAsText = false) =>
    parseJson(await readBody(request, limits.bodyBytesMax), numbersAsText);
  return new Map<string, HttpHandler>([
    ["POST /", async (request, response) => {
      const json = await body(request);
      if (json.record === undefined) {
        throw serviceError("INVALID_ARGUMENT", 'Cannot produce: the body has no "record"');
      }
      const { offset } = await produceValues(service, request, [
        decodeValue(json.record, "record"),
      ]);
      // The book's route answers exactly as the book's server does.
      sendJson(response, 200, { offset });
    }],
    ["GET /", async (request, response) => {
      if (wantsUiPage(request)) return sendUiPage(response); // a browser: the status page
      // The offset as written: "1e3" or 2^64 - 1 must not pass as a rounded number.
      const json = await body(request, true);
      const offset = parseDecimal(json.offset, "offset");
      await service.context.admit(subjectOf(request), "consume");
      const { value, offset: at } = recordJson(await readRecord(service, offset));
      sendJson(response, 200, { record: { value, offset: at } });
    }],
    ["POST /v1/records", async (request, response) => {
      const json = await body(request);
      const batch = Array.isArray(json.records) ? json.records : null;
      const values = batch
        ? batch.map((record, i) => decodeValue(record, `records[${i}]`))
        : [decodeValue(json, "the body")];
      if (values.length === 0) {
        throw serviceError("INVALID_ARGUMENT", 'Cannot produce: "records" is empty');
      }
      // Idempotent produce: "producerId" and "sequence" as in the gRPC ProduceRequest.
      const producer = producerOf({ producerId: json.producerId, sequence: json.sequence });
      const answer = await produceValues(service, request, values, producer);
      sendJson(response, 200, answer);
    }],
    ["GET /v1/records", async (request, response, url) => {
      await service.context.admit(subjectOf(request), "consume");
      const follow = url.searchParams.get("follow");
      // Without follow the stream ends at the end: it must include every acknowledged record.
      if (follow !== "true" && follow !== "1") await confirmedEnd(service.context, Infinity);
      await streamHttpRecords(service.context, { request, response, url });
    }],
    ["GET /v1/status", async (request, response) => {
      sendJson(response, 200, await httpStatus(service, subjectOf(request)));
    }],
    ["GET /v1/cluster", async (request, response) => {
      sendJson(response, 200, await httpCluster(service, subjectOf(request)));
    }],
    ["GET /healthz", (_request, response) => sendJson(response, 200, { status: "ok" })],
    ["GET /readyz", (_request, response) => {
      const { ready, reason } = service.health.readiness();
      const status = ready ? "ready" : "not ready";
      sendJson(response, ready ? 200 : 503, reason === undefined ? { status } : { status, reason });
    }],
    ["GET /ui", (_request, response) => sendUiPage(response)],
    // Browsers ask for it on every page; an empty answer keeps their consoles free of 404s.
    ["GET /favicon.ico", (_request, response) => void response.writeHead(204).end()],
  ]);
}

/** `GET /v1/records/{offset}`. */
export async function getRecordByPath(
  service: Service,
  request: IncomingMessage,
  response: ServerResponse,
  offsetText: string,
): Promise<void> {
  const offset = parseDecimal(offsetText, "offset");
  await service.context.admit(subjectOf(request), "consume");
  sendJson(response, 200, recordJson(await readRecord(service, offset)));
}
