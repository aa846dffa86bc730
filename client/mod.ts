/**
 * A typed client of the `log.v1.Log` gRPC API (used by the CLI, the tests and the
 * benchmarks). Failures are grpc-js `ServiceError`s carrying the status `code`.
 *
 * @example
 * ```ts
 * const client = new LogClient("localhost:8400");
 * const offset = await client.produce(new TextEncoder().encode("hello"));
 * const record = await client.consume(offset);
 * client.close();
 * ```
 * @module
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  credentials as grpcCredentials,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  type ConsumeResponse,
  type HealthCheckResponse,
  healthService,
  logService,
  type ProduceRequest,
  type ProduceResponse,
  type RecordMessage,
  type ServerMessage,
} from "../proto/mod.ts";

/** How to reach the server. */
export interface LogClientOptions {
  /** Insecure when absent (security/ builds TLS credentials). */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options (merged over the defaults). */
  channelOptions?: ChannelOptions;
}

/** Options of {@linkcode LogClient.consumeStream}. */
export interface ConsumeStreamOptions {
  /** Stop after this many records (0 or absent: follow forever). */
  limit?: number;
  /** Ask the server for batches of up to this many records per message. */
  batchRecordsMax?: number;
  /** End at the end of the log as it is when the stream starts, instead of waiting. */
  stopAtEnd?: boolean;
  /** Cancels the stream. */
  signal?: AbortSignal;
}

type Callback<T> = (error: ServiceError | null, value?: T) => void;
// deno-lint-ignore no-explicit-any
type Method = (...args: any[]) => any;
type StubMethod = "produce" | "consume" | "consumeStream" | "produceStream" | "getServers";
type Untyped = Client & Record<StubMethod | "check" | "watch", Method>;

const LogStub = makeGenericClientConstructor(logService, "Log");
const HealthStub = makeGenericClientConstructor(healthService, "Health");

function call<T>(stub: Untyped, method: StubMethod | "check", request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const done: Callback<T> = (error, value) => error ? reject(error) : resolve(value as T);
    stub[method](request, done);
  });
}

/** A pipelined ProduceStream: `send` resolves with each request's response, in order. */
export class ProduceStream {
  readonly #call: ClientDuplexStream<ProduceRequest, ProduceResponse>;
  readonly #waiting: { resolve(r: ProduceResponse): void; reject(e: unknown): void }[] = [];
  #failure: unknown = null;

  /** Wraps an open ProduceStream call (use {@linkcode LogClient.produceStream}). */
  constructor(call: ClientDuplexStream<ProduceRequest, ProduceResponse>) {
    this.#call = call;
    call.on("data", (response: ProduceResponse) => this.#waiting.shift()?.resolve(response));
    call.on("error", (error) => {
      this.#failure = error;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    });
    call.on("end", () => {
      const error = new Error("Cannot produce: the stream ended");
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    });
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#waiting.length;
  }

  /**
   * Sends one request (one value or a batch); resolves with its response. With `producer`,
   * the batch carries a producer id and sequence: the server appends it on its own and at most
   * once (see docs/exactly-once.md).
   */
  send(
    values: Uint8Array[],
    producer?: { producerId: string; sequence: number },
  ): Promise<ProduceResponse> {
    if (this.#failure) return Promise.reject(this.#failure);
    const body = values.length === 1
      ? { record: { value: values[0]! } }
      : { records: values.map((value) => ({ value })) };
    const request = producer === undefined ? body : { ...body, ...producer };
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#call.write(request);
    });
  }

  /** Resolves when the transport can take more (`send` already queued a lot). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#call.writableNeedDrain !== true) resolve();
      else this.#call.once("drain", () => resolve());
    });
  }

  /** Half-closes the stream; pending responses still arrive. */
  end(): void {
    this.#call.end();
  }

  /** Cancels the stream. */
  cancel(): void {
    this.#call.cancel();
  }
}

/** A client of one Strand node's `log.v1.Log` service. */
export class LogClient {
  readonly #stub: Untyped;
  readonly #health: Untyped;

  /** A client of the node at `address` ("host:port"); connects lazily. */
  constructor(address: string, options: LogClientOptions = {}) {
    const credentials = options.credentials ?? grpcCredentials.createInsecure();
    // One connection per client, not grpc-js's process-wide shared one: on Deno 2.8.3 a stream
    // cancelled on a shared HTTP/2 client connection can reset other calls on it (a Node
    // client against the same server does not show it; see tests/e2e/churn_test.ts).
    const channelOptions = { "grpc.use_local_subchannel_pool": 1, ...options.channelOptions };
    this.#stub = new LogStub(address, credentials, channelOptions) as unknown as Untyped;
    this.#health = new HealthStub(address, credentials, channelOptions) as unknown as Untyped;
  }

  /**
   * Appends one record; resolves with its offset. With `producer` the record is a batch of
   * that producer, appended at most once (a retry is answered with the original offset).
   */
  async produce(
    value: Uint8Array,
    producer?: { producerId: string; sequence: number },
  ): Promise<number> {
    const request = { record: { value }, ...producer };
    const response = await call<ProduceResponse>(this.#stub, "produce", request);
    return Number(response.offset);
  }

  /** Appends a batch atomically; resolves with the first offset and the count. */
  async produceBatch(values: Uint8Array[]): Promise<{ offset: number; count: number }> {
    const records = values.map((value) => ({ value }));
    const response = await call<ProduceResponse>(this.#stub, "produce", { records });
    return { offset: Number(response.offset), count: response.count };
  }

  /** Reads the record at `offset`. */
  async consume(offset: number): Promise<RecordMessage> {
    const response = await call<ConsumeResponse>(this.#stub, "consume", { offset });
    if (!response.record) throw new Error(`Cannot read offset ${offset}: empty response`);
    return response.record;
  }

  /** Streams records from `offset` (replay, then tail). Breaking out cancels the call. */
  async *consumeStream(
    offset: number,
    options: ConsumeStreamOptions = {},
  ): AsyncGenerator<RecordMessage> {
    const request = {
      offset,
      limit: options.limit ?? 0,
      batchRecordsMax: options.batchRecordsMax ?? 0,
      stopAtEnd: options.stopAtEnd ?? false,
    };
    const stream = this.#stub.consumeStream(request);
    // Our own cancel (a break, the signal) surfaces as a CANCELLED 'error' that may come after
    // the loop has let go of the stream: expected, not a failure. The loop still sees errors.
    stream.on("error", () => {});
    const cancel = () => stream.cancel();
    options.signal?.addEventListener("abort", cancel, { once: true });
    try {
      for await (const message of stream as AsyncIterable<ConsumeResponse>) {
        if (message.records && message.records.length > 0) yield* message.records;
        else if (message.record) yield message.record;
      }
    } finally {
      options.signal?.removeEventListener("abort", cancel);
      stream.cancel();
    }
  }

  /** Opens a pipelined ProduceStream. */
  produceStream(): ProduceStream {
    return new ProduceStream(this.#stub.produceStream());
  }

  /** The cluster's members. */
  async getServers(): Promise<ServerMessage[]> {
    const response = await call<{ servers: ServerMessage[] }>(this.#stub, "getServers", {});
    return response.servers;
  }

  /** The standard health check (`service` "" = the whole server). */
  async health(service = ""): Promise<HealthCheckResponse["status"]> {
    const response = await call<HealthCheckResponse>(this.#health, "check", { service });
    return response.status;
  }

  /** Resolves when the channel is connected, or rejects after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#stub.waitForReady(Date.now() + timeoutMs, (error?: Error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** Closes the channels. */
  close(): void {
    this.#stub.close();
    this.#health.close();
  }
}

export {
  newProducerId,
  PRODUCER_ID_ON_WIRE,
  type ProduceResult,
  StrandClient,
  type StrandClientOptions,
  type StrandConsumeStreamOptions,
} from "./_strand_client.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy, type RetryRuntime } from "./_retry.ts";
export { type Member } from "./_resolver.ts";
export { targetAddresses, TargetError } from "./_target.ts";
