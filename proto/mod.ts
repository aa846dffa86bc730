/**
 * Strand's wire API: the book's `log.v1.Log` service (plus extensions with new field
 * numbers) and the standard `grpc.health.v1.Health` service, as grpc-js service definitions
 * over the protobufjs static code in `gen/` (regenerate with `deno task proto`).
 *
 * 64-bit fields decode as `number`.
 * @module
 */
import "./_long_off.ts";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { grpc as healthRoot, log } from "./gen/log.js";

/** A record on the wire (book field numbers: value=1, offset=2, term=3, type=4). */
export interface RecordMessage {
  /** Field 1: the bytes. */
  value: Uint8Array;
  /** Field 2: the offset (set by the server). */
  offset: number;
  /** Field 3: the Raft term of its entry. */
  term: number;
  /** Field 4: 0 for a client record. */
  type: number;
}

/** Produce input: one `record` (the book) or a batch in `records` (extension). */
export interface ProduceRequest {
  /** Field 1: one record (the book). */
  record?: Partial<RecordMessage> | null;
  /** Field 2: a batch, appended atomically (extension). */
  records?: Partial<RecordMessage>[];
}

/** Produce output: the (first) offset and how many records were appended. */
export interface ProduceResponse {
  /** Field 1: offset of the (first) record. */
  offset: number;
  /** Field 2: how many records were appended (extension). */
  count: number;
}

/** Consume input; `limit`, `batchRecordsMax` and `stopAtEnd` are stream extensions. */
export interface ConsumeRequest {
  /** Field 1: where to start. */
  offset: number;
  /** Stop after this many records (0: no limit). */
  limit: number;
  /** Records per message when > 0 (in `ConsumeResponse.records`). */
  batchRecordsMax: number;
  /** End at the end of the log as it is when the stream starts, instead of waiting. */
  stopAtEnd?: boolean;
}

/** Consume output: one `record` (the book) or a batch in `records` (extension). */
export interface ConsumeResponse {
  /** Field 2: one record (the book). */
  record?: RecordMessage | null;
  /** Field 3: a batch of consecutive records (extension). */
  records?: RecordMessage[];
}

/** A member of the cluster as `GetServers` reports it. */
export interface ServerMessage {
  /** Field 1: the node's name. */
  id: string;
  /** Field 2: its gRPC address. */
  rpcAddr: string;
  /** Field 3: whether it leads. */
  isLeader: boolean;
}

/** GetServers output. */
export interface GetServersResponse {
  /** Field 1: every member. */
  servers: ServerMessage[];
}

/** Health status values of `grpc.health.v1`. */
export const ServingStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
} as const;
/** One of {@linkcode ServingStatus}. */
export type ServingStatus = typeof ServingStatus[keyof typeof ServingStatus];

/** Health input: the service name ("" = the whole server). */
export interface HealthCheckRequest {
  /** Field 1: the service name ("" = the whole server). */
  service: string;
}

/** Health output. */
export interface HealthCheckResponse {
  /** Field 1: the status. */
  status: ServingStatus;
}

interface Codec {
  encode(message: never): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
}

// A message may also be passed already encoded (server/ encodes ConsumeStream messages itself
// to count the bytes it sends).
function serializer<T>(codec: Codec): (message: T | Uint8Array) => Buffer {
  return (message) => {
    const bytes = message instanceof Uint8Array ? message : codec.encode(message as never).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<T>(codec: Codec): (bytes: Buffer) => T {
  return (bytes) => codec.decode(bytes) as T;
}

function method(
  path: string,
  codecs: [Codec, Codec],
  streams: { request: boolean; response: boolean },
) {
  const [request, response] = codecs;
  return {
    path,
    requestStream: streams.request,
    responseStream: streams.response,
    requestSerialize: serializer(request),
    requestDeserialize: deserializer(request),
    responseSerialize: serializer(response),
    responseDeserialize: deserializer(response),
  };
}

const v1 = log.v1;
const unary = { request: false, response: false };

/** grpc-js definition of `log.v1.Log`, for `Server.addService` and client constructors. */
export const logService: ServiceDefinition = {
  produce: method("/log.v1.Log/Produce", [v1.ProduceRequest, v1.ProduceResponse], unary),
  consume: method("/log.v1.Log/Consume", [v1.ConsumeRequest, v1.ConsumeResponse], unary),
  consumeStream: method(
    "/log.v1.Log/ConsumeStream",
    [v1.ConsumeRequest, v1.ConsumeResponse],
    { request: false, response: true },
  ),
  produceStream: method(
    "/log.v1.Log/ProduceStream",
    [v1.ProduceRequest, v1.ProduceResponse],
    { request: true, response: true },
  ),
  getServers: method(
    "/log.v1.Log/GetServers",
    [v1.GetServersRequest, v1.GetServersResponse],
    unary,
  ),
};

/** Encodes a ConsumeResponse (the grpc-js serializers pass encoded bytes through). */
export function encodeConsumeResponse(message: ConsumeResponse): Uint8Array {
  return v1.ConsumeResponse.encode(message).finish();
}

/** Encodes a ProduceResponse (for answers the server frames itself). */
export function encodeProduceResponse(message: ProduceResponse): Uint8Array {
  return v1.ProduceResponse.encode(message).finish();
}

const health = healthRoot.health.v1;

/** grpc-js definition of `grpc.health.v1.Health`. */
export const healthService: ServiceDefinition = {
  check: method(
    "/grpc.health.v1.Health/Check",
    [health.HealthCheckRequest, health.HealthCheckResponse],
    unary,
  ),
  watch: method(
    "/grpc.health.v1.Health/Watch",
    [health.HealthCheckRequest, health.HealthCheckResponse],
    { request: false, response: true },
  ),
};
