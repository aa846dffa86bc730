/**
 * {@linkcode StrandClient}: a cluster-aware client over the `strand:` resolver and the
 * `strand_leader` balancer, with retries and exactly-once produce (producer id + sequence).
 * @module
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  credentials as grpcCredentials,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import {
  type ConsumeResponse,
  logService,
  type ProduceResponse,
  type RecordMessage,
  type ServerMessage,
} from "../proto/mod.ts";
import { registerStrandBalancer } from "./_balancer.ts";
import {
  type Member,
  registerStrandResolver,
  RESOLVER_CONFIG_KEY,
  type ResolverConfig,
} from "./_resolver.ts";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  outcomeUnknown,
  realRuntime,
  retrying,
  type RetryPolicy,
  type RetryRuntime,
} from "./_retry.ts";
import { splitAddress, targetAddresses, toStrandUri } from "./_target.ts";

/** Options of {@linkcode StrandClient}. */
export interface StrandClientOptions {
  /** Insecure when absent. */
  readonly credentials?: ChannelCredentials;
  /** Extra grpc-js channel options (e.g. `grpc.ssl_target_name_override`). */
  readonly channelOptions?: ChannelOptions;
  /** Overrides of {@linkcode DEFAULT_RETRY_POLICY}. */
  readonly retry?: Partial<RetryPolicy>;
  /** Ask the cluster for its members at least this often (default 10 s). */
  readonly refreshIntervalMs?: number;
  /** How long one member may take to list the members (default 2 s). */
  readonly resolveTimeoutMs?: number;
  /** Clock, randomness and sleep (tests). */
  readonly runtime?: RetryRuntime;
}

/** What a produce did. */
export interface ProduceResult {
  /** Offset of the (first) record. */
  readonly offset: number;
  /** Records appended by the batch. */
  readonly count: number;
  /** True when a retry found the batch already appended: `offset` is the original one. */
  readonly duplicate: boolean;
  /** Attempts the call took (1 without retries). */
  readonly attempts: number;
  /** The server's acknowledgement details, when it sends them. */
  readonly durable?: boolean;
  readonly replicasFsynced?: number;
  readonly commitIndex?: number;
}

/** Options of {@linkcode StrandClient.consumeStream}. */
export interface StrandConsumeStreamOptions {
  /** Stop after this many records (0 or absent: follow forever). */
  readonly limit?: number;
  /** Ask for batches of up to this many records per message. */
  readonly batchRecordsMax?: number;
  /** End at the end of the log (as the serving node sees it when the stream (re)starts). */
  readonly stopAtEnd?: boolean;
  /** Cancels the stream. */
  readonly signal?: AbortSignal;
}

// deno-lint-ignore no-explicit-any
type Method = (...args: any[]) => any;
type Stub = Client & Record<"produce" | "consume" | "consumeStream" | "getServers", Method>;
const LogStub = makeGenericClientConstructor(logService, "Log");

/** Whether this build's ProduceRequest carries `producer_id` and `sequence` on the wire. */
export const PRODUCER_ID_ON_WIRE: boolean = (() => {
  const probe = { records: [], producerId: "p", sequence: 7 };
  const bytes = logService.produce!.requestSerialize(probe);
  const back = logService.produce!.requestDeserialize(bytes) as { producerId?: string };
  return back.producerId === "p";
})();

/** A random 128-bit producer id, as 32 hex digits. */
export function newProducerId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function unary<T>(
  stub: Stub,
  method: "produce" | "consume" | "getServers",
  request: unknown,
  deadlineMs: number,
) {
  return new Promise<T>((resolve, reject) => {
    stub[method](
      request,
      { deadline: new Date(deadlineMs) },
      (error: ServiceError | null, value?: T) => error ? reject(error) : resolve(value as T),
    );
  });
}

/**
 * A client of a Strand cluster. Give it one or more member addresses
 * (`strand://host:port,host:port`, or `host:port`); it finds the other members through
 * `GetServers`, sends produces to the leader and spreads consumes over the followers, and
 * retries failovers with backoff under a deadline. Produces carry this client's producer id
 * and a per-batch sequence, the same on every retry, so a retried batch is appended once.
 * Produces are sent one at a time, in call order (batch records for throughput).
 *
 * @example
 * ```ts
 * const client = new StrandClient("strand://localhost:8400,localhost:8410");
 * const { offset } = await client.produce(new TextEncoder().encode("hello"));
 * const record = await client.consume(offset);
 * client.close();
 * ```
 */
export class StrandClient {
  readonly #stub: Stub;
  readonly #policy: RetryPolicy;
  readonly #runtime: RetryRuntime;
  readonly #closed = new AbortController();
  #members: Member[] = [];
  #reached = false;
  #producerId = newProducerId();
  #nextSequence = 1;
  #produceTail: Promise<unknown> = Promise.resolve();

  /** A client of the cluster `target` lists; connects lazily. */
  constructor(target: string, options: StrandClientOptions = {}) {
    registerStrandResolver();
    registerStrandBalancer();
    const credentials = options.credentials ?? grpcCredentials.createInsecure();
    const given = options.channelOptions ?? {};
    // Every member is verified under one configured server name: the override, else the first
    // listed host (Deno's TLS cannot verify an IP address a member advertises).
    const serverName = given["grpc.ssl_target_name_override"] ??
      splitAddress(targetAddresses(target)[0]!).host;
    const config: ResolverConfig = {
      credentials,
      channelOptions: { ...given, "grpc.ssl_target_name_override": serverName },
      refreshIntervalMs: options.refreshIntervalMs ?? 10_000,
      resolveTimeoutMs: options.resolveTimeoutMs ?? 2_000,
      onResolved: (members) => {
        this.#members = members;
        this.#reached = true;
      },
    };
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#runtime = options.runtime ?? realRuntime;
    // One connection set per client (see LogClient: shared HTTP/2 connections misbehave on Deno).
    this.#stub = new LogStub(toStrandUri(target), credentials, {
      "grpc.use_local_subchannel_pool": 1,
      ...given,
      [RESOLVER_CONFIG_KEY]: config,
    }) as unknown as Stub;
  }

  /** This client's producer id (changes after a produce whose outcome stayed unknown). */
  get producerId(): string {
    return this.#producerId;
  }

  /** The members as last resolved (empty before the cluster was first reached). */
  get members(): readonly Member[] {
    return this.#members;
  }

  /** Appends one record. */
  produce(value: Uint8Array): Promise<ProduceResult> {
    return this.#produce([value]);
  }

  /** Appends a batch atomically (one sequence for the whole batch). */
  produceBatch(values: Uint8Array[]): Promise<ProduceResult> {
    if (values.length === 0) return Promise.reject(new RangeError("Cannot produce an empty batch"));
    return this.#produce(values);
  }

  #produce(values: Uint8Array[]): Promise<ProduceResult> {
    // One batch in flight per producer: the server expects sequences in order.
    const run = this.#produceTail.then(() => this.#produceNow(values));
    this.#produceTail = run.catch(() => {});
    return run;
  }

  async #produceNow(values: Uint8Array[]): Promise<ProduceResult> {
    const body = values.length === 1
      ? { record: { value: values[0]! } }
      : { records: values.map((value) => ({ value })) };
    const sequence = this.#nextSequence;
    const request = PRODUCER_ID_ON_WIRE
      ? { ...body, producerId: this.#producerId, sequence }
      : body;
    let attempts = 0;
    let unknown = false;
    try {
      const response = await retrying(
        (deadlineMs) => unary<ProduceResponse>(this.#stub, "produce", request, deadlineMs),
        this.#retryOptions((error) => PRODUCER_ID_ON_WIRE && isRetryable(error), (error, n) => {
          attempts = n + 1;
          unknown ||= outcomeUnknown(error);
        }),
      );
      this.#nextSequence++;
      return resultOf(response, attempts + 1);
    } catch (error) {
      // The batch may be in the log under this sequence: later batches start a new producer,
      // so neither a reused sequence (dropped as a duplicate) nor a gap can follow. The same
      // when the server refused the sequence (FAILED_PRECONDITION: it no longer remembers
      // this producer as the client does): later batches would be refused too.
      const refusedSequence = (error as { code?: unknown }).code === status.FAILED_PRECONDITION;
      if (unknown || refusedSequence) {
        this.#producerId = newProducerId();
        this.#nextSequence = 1;
      }
      throw error;
    }
  }

  /** Reads the record at `offset` (from a follower when one is ready). */
  async consume(offset: number): Promise<RecordMessage> {
    const response = await retrying(
      (deadlineMs) => unary<ConsumeResponse>(this.#stub, "consume", { offset }, deadlineMs),
      this.#retryOptions(isRetryable),
    );
    if (!response.record) throw new Error(`Cannot read offset ${offset}: empty response`);
    return response.record;
  }

  /** The cluster's members as the serving node reports them. */
  async getServers(): Promise<ServerMessage[]> {
    const response = await retrying(
      (deadlineMs) => unary<{ servers: ServerMessage[] }>(this.#stub, "getServers", {}, deadlineMs),
      this.#retryOptions(isRetryable),
    );
    return response.servers;
  }

  /**
   * Streams records from `offset`. A stream that breaks (its node died) resumes after the last
   * record yielded, on another member, with backoff; it gives up after the retry deadline
   * passes without a record. Breaking out of the loop cancels the call.
   */
  async *consumeStream(
    offset: number,
    options: StrandConsumeStreamOptions = {},
  ): AsyncGenerator<RecordMessage> {
    let next = offset;
    let remaining = options.limit ?? 0;
    const limited = remaining > 0;
    for (let failures = 0, quietSinceMs = this.#runtime.now();;) {
      const stream = this.#stub.consumeStream({
        offset: next,
        limit: remaining,
        batchRecordsMax: options.batchRecordsMax ?? 0,
        stopAtEnd: options.stopAtEnd ?? false,
      });
      // Our own cancel surfaces as a CANCELLED 'error' after the loop let go: expected.
      stream.on("error", () => {});
      const cancel = () => stream.cancel();
      options.signal?.addEventListener("abort", cancel, { once: true });
      try {
        for await (const message of stream as AsyncIterable<ConsumeResponse>) {
          const records = message.records?.length
            ? message.records
            : message.record
            ? [message.record]
            : [];
          for (const record of records) {
            yield record;
            next = Number(record.offset) + 1;
            failures = 0;
            quietSinceMs = this.#runtime.now();
            if (limited && --remaining === 0) return;
          }
        }
        return;
      } catch (error) {
        const overMs = this.#runtime.now() - quietSinceMs;
        if (options.signal?.aborted || !this.#mayRetry(error) || overMs > this.#policy.deadlineMs) {
          throw error;
        }
        await this.#runtime.sleep(
          backoffDelayMs(failures++, this.#policy, this.#runtime.random),
          this.#closed.signal,
        );
      } finally {
        options.signal?.removeEventListener("abort", cancel);
        stream.cancel();
      }
    }
  }

  /** Resolves when a connection is ready, or rejects after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#stub.waitForReady(
        Date.now() + timeoutMs,
        (error?: Error) => error ? reject(error) : resolve(),
      );
    });
  }

  /** Closes every connection; pending retries stop waiting. */
  close(): void {
    this.#closed.abort(new Error("Cannot retry: the client is closed"));
    this.#stub.close();
  }

  /** Retry only once the cluster was reached: a wrong address fails at once, not after 30 s. */
  #mayRetry(error: unknown): boolean {
    return this.#reached && isRetryable(error);
  }

  #retryOptions(
    retryable: (error: unknown) => boolean,
    onFailure?: (error: unknown, attempt: number) => void,
  ) {
    return {
      policy: this.#policy,
      runtime: this.#runtime,
      signal: this.#closed.signal,
      shouldRetry: (error: unknown) => this.#reached && retryable(error),
      ...(onFailure === undefined ? {} : { onFailure }),
    };
  }
}

function resultOf(response: ProduceResponse, attempts: number): ProduceResult {
  const extra = response as ProduceResponse & {
    duplicate?: boolean;
    durable?: boolean;
    replicasFsynced?: number;
    commitIndex?: number;
  };
  return {
    offset: Number(response.offset),
    count: response.count,
    duplicate: extra.duplicate === true,
    attempts,
    ...(extra.durable === undefined ? {} : { durable: extra.durable }),
    ...(extra.replicasFsynced === undefined
      ? {}
      : { replicasFsynced: Number(extra.replicasFsynced) }),
    ...(extra.commitIndex === undefined ? {} : { commitIndex: Number(extra.commitIndex) }),
  };
}
