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
  /** Field 3: the producer, for deduplicating retries (extension; "" or absent: none). */
  producerId?: string;
  /** Field 4: the batch's sequence within `producerId` (extension; see docs/exactly-once.md). */
  sequence?: number;
}

/** Produce output: the (first) offset and how many records were appended. */
export interface ProduceResponse {
  /** Field 1: offset of the (first) record. */
  offset: number;
  /** Field 2: how many records were appended (extension). */
  count: number;
  /** Field 3: replicas holding the records fsynced when answered (0 unless --fsync always). */
  replicasFsynced?: number;
  /** Field 4: the Raft commit index when answered (0 on a standalone node). */
  commitIndex?: number;
  /** Field 5: the batch was appended before under the same producer and sequence. */
  duplicate?: boolean;
  /** Field 6: the records were fsynced before the answer (false under --fsync interval|never). */
  durable?: boolean;
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
  /**
   * Field 1 exactly as sent, set only when it is above 2^53 (`offset`, a number, is then
   * rounded): for messages that quote it.
   */
  exactOffset?: bigint;
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

/**
 * The last value of varint field `field` in `bytes`, exactly (protobufjs, with 64-bit fields
 * as numbers, rounds above 2^53); undefined when absent or unreadable.
 */
export function exactVarintField(bytes: Uint8Array, field: number): bigint | undefined {
  let found: bigint | undefined;
  let at = 0;
  const varint = (): bigint | undefined => {
    let value = 0n;
    for (let shift = 0n; shift < 70n && at < bytes.length; shift += 7n) {
      const byte = bytes[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (at < bytes.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const wireType = Number(key & 7n);
    if (wireType === 0) {
      const value = varint();
      if (value === undefined) return undefined;
      if (key >> 3n === BigInt(field)) found = value & ((1n << 64n) - 1n);
    } else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) {
      const length = varint(); // read before `at` is: the length's own bytes move it
      if (length === undefined) return undefined;
      at += Number(length);
    } else return undefined;
  }
  return found;
}

/** ConsumeRequest's decoder, keeping an offset above 2^53 exactly in `exactOffset`. */
function consumeRequestDeserializer(bytes: Buffer): ConsumeRequest {
  const message = v1.ConsumeRequest.decode(bytes) as unknown as ConsumeRequest;
  if (!Number.isSafeInteger(Number(message.offset ?? 0))) {
    const exact = exactVarintField(bytes, 1);
    if (exact !== undefined) message.exactOffset = exact;
  }
  return message;
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
    requestDeserialize: request === v1.ConsumeRequest
      ? consumeRequestDeserializer
      : deserializer(request),
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
export { adminService, decodeAdminMessage, encodeAdminMessage } from "./_admin.ts";
