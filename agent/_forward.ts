/**
 * Forwards a produce that reached a follower to the leader, over the leader's gRPC port, and
 * answers with the leader's offsets. The forwarded call carries a marker so the receiving node
 * appends only if it leads (a stale belief about the leader never bounces a request around).
 * @module
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  credentials as grpcCredentials,
  makeGenericClientConstructor,
  Metadata,
  type ServiceError as GrpcError,
  status as GrpcStatus,
} from "@grpc/grpc-js";
import { logService, type ProduceResponse } from "../proto/mod.ts";
import {
  type AppendAck,
  FORWARDED_METADATA_KEY,
  type ProducerRef,
  ServiceError,
} from "../server/mod.ts";

const LogStub = makeGenericClientConstructor(logService, "Log");
type ProduceStub = Client & {
  produce(
    request: unknown,
    metadata: Metadata,
    options: { deadline: number },
    callback: (error: GrpcError | null, response?: ProduceResponse) => void,
  ): void;
};

/** The HTTP status a gRPC status stands for, to answer HTTP clients of a follower. */
const httpOf: Partial<Record<GrpcStatus, number>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 413,
  [GrpcStatus.FAILED_PRECONDITION]: 409,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
};

/** One gRPC channel per leader address, reused across requests. */
export class Forwarder {
  readonly #credentials: ChannelCredentials;
  readonly #timeoutMs: number;
  readonly #channelOptions: ChannelOptions;
  #address = "";
  #stub: ProduceStub | null = null;

  constructor(
    options: {
      credentials?: ChannelCredentials;
      channelOptions?: ChannelOptions;
      timeoutMs?: number;
    } = {},
  ) {
    this.#credentials = options.credentials ?? grpcCredentials.createInsecure();
    this.#channelOptions = options.channelOptions ?? {};
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Appends `values` on the leader at `address`, with the producer id and sequence when given
   * (the leader deduplicates); resolves with the leader's answer.
   */
  produce(
    address: string,
    leaderId: string,
    values: Uint8Array[],
    producer?: ProducerRef,
  ): Promise<AppendAck> {
    const stub = this.#stubFor(address);
    const metadata = new Metadata();
    metadata.set(FORWARDED_METADATA_KEY, "1");
    const records = { records: values.map((value) => ({ value })) };
    const request = producer === undefined
      ? records
      : { ...records, producerId: producer.id, sequence: producer.sequence };
    return new Promise((resolve, reject) => {
      stub.produce(
        request,
        metadata,
        { deadline: Date.now() + this.#timeoutMs },
        (error, reply) => {
          if (error === null && reply !== undefined) {
            resolve({
              baseOffset: Number(reply.offset),
              replicasFsynced: reply.replicasFsynced ?? 0,
              commitIndex: Number(reply.commitIndex ?? 0),
              durable: reply.durable ?? false,
              ...(reply.duplicate ? { duplicate: true, count: reply.count } : {}),
            });
            return;
          }
          reject(forwardError(error, leaderId, address));
        },
      );
    });
  }

  #stubFor(address: string): ProduceStub {
    if (this.#stub === null || this.#address !== address) {
      this.#stub?.close();
      this.#address = address;
      // Peers talk directly: no proxy (and no reading of proxy variables serve may not read).
      const options = {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.enable_http_proxy": 0,
        ...this.#channelOptions,
      };
      this.#stub = new LogStub(address, this.#credentials, options) as unknown as ProduceStub;
    }
    return this.#stub;
  }

  /** Closes the channel. */
  close(): void {
    this.#stub?.close();
    this.#stub = null;
  }
}

function forwardError(error: GrpcError | null, leaderId: string, address: string): ServiceError {
  const code = error?.code ?? GrpcStatus.INTERNAL;
  const details = error?.details ?? "no answer";
  // The leader's own refusals (too large, denied) pass through; transport failures mean the
  // leader is unreachable for now: retryable.
  const passThrough = httpOf[code] !== undefined && code !== GrpcStatus.UNAVAILABLE &&
    code !== GrpcStatus.DEADLINE_EXCEEDED;
  if (passThrough) {
    return new ServiceError("FORWARDED", details, { grpc: code, http: httpOf[code]! });
  }
  return new ServiceError(
    "NO_LEADER",
    `Cannot append through the leader ${leaderId} at ${address}: ${details}. The records may or may not have been appended; retry shortly`,
    { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  );
}
