/**
 * The node's Prometheus metrics, held in one `prom-client` Registry owned by the node (never
 * the library's global registry, so two nodes in one test process never share counters).
 * @module
 */

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { ObserveError } from "./_errors.ts";

/** Which front door a request came through; a label value of the request metrics. */
export type Transport = "grpc" | "http";

/** One finished request, as the server reports it. */
export interface RequestSample {
  /** Which front door the request came through. */
  readonly transport: Transport;
  /** The RPC or route name, e.g. `Produce`, `ConsumeStream`, `POST /v1/records`. */
  readonly method: string;
  /** gRPC status name (`OK`, `NOT_FOUND`) or HTTP status code (`200`). */
  readonly status: string;
  /** From arrival to response, in seconds. */
  readonly durationSeconds: number;
}

/** What the log reports when scraped (read on demand; the log never pushes these). */
export interface LogStats {
  /** Bytes of all segment files (store + index). */
  readonly bytes: number;
  /** Segments (store + index file pairs) in the log. */
  readonly segments: number;
  /** Offset of the first retained record. */
  readonly firstOffset: number;
  /** Offset the next record will get; the last offset is one less (-1 on an empty log). */
  readonly nextOffset: number;
}

/** What one group commit of the log did (the log declares the same shape). */
export interface GroupCommitEvent {
  /** Entries written by the group: each append is one entry, so this is the coalescing. */
  readonly entries: number;
  /** Frame bytes written by the group. */
  readonly bytes: number;
  /** Time spent in the write call(s), in milliseconds. */
  readonly writeMs: number;
  /** Time spent in fsync, in milliseconds; 0 when the fsync policy did not sync this group. */
  readonly fsyncMs: number;
}

/**
 * The callback the log calls after each group commit, so its figures reach the metrics
 * without `log/` importing `observe/` (it declares the same narrow interface). O(1).
 */
export interface LogObserver {
  /** Called after each group commit; must be cheap and must not throw. */
  onGroupCommit(event: GroupCommitEvent): void;
  /** Called for each damage the log finds, at open or on a failed read (log/'s `RecoveryEvent`). */
  onRecovery?(event: LogRecoveryEvent): void;
}

/** The fields of log/'s `RecoveryEvent` the metrics count. */
export interface LogRecoveryEvent {
  /** `corrupt` (damaged entries kept), `tail_cut` (a torn tail cut), `index_rebuilt`. */
  readonly kind: "corrupt" | "tail_cut" | "index_rebuilt";
  /** Store bytes the damage spans (not on `index_rebuilt`). */
  readonly bytes?: number;
  /** First offset of a kept damaged range. */
  readonly firstOffset?: number;
  /** Offset after a kept damaged range. */
  readonly endOffset?: number;
}

/** Raft figures, read on scrape (the Raft issue registers this through the same registry). */
export interface RaftStats {
  /** The node's current term. */
  readonly term: number;
  /** `follower`, `preCandidate`, `candidate` or `leader` (raft/'s `Role`). */
  readonly role: string;
  /** Highest index known committed. */
  readonly commitIndex: number;
  /** Highest index applied (records visible to consumers up to it). */
  readonly appliedIndex: number;
  /** Entries each follower is behind the leader's last index; empty unless leader. */
  readonly followerLagEntries: Readonly<Record<string, number>>;
}

/** Members by SWIM state, read on scrape (the membership issue registers this). */
export type MembershipStats = Readonly<Record<"alive" | "suspect" | "dead" | "left", number>>;

/** Options of {@linkcode Metrics}. */
export interface MetricsOptions {
  /** Labels added to every series, e.g. `{ node: "n1" }`. */
  defaultLabels?: Readonly<Record<string, string>>;
  /**
   * Also expose the runtime's standard `process_*` (CPU, resident memory, open files) and
   * `nodejs_*` (heap, event-loop lag) series, unprefixed as exporters conventionally name
   * them. Default false (tests create many registries); the node turns it on.
   */
  processMetrics?: boolean;
  /** Request latency buckets in seconds; the default spans 100µs to 10s. */
  latencyBucketsSeconds?: readonly number[];
}

const latencyBucketsDefault = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
];
/** A batch of 1 (no coalescing) up to 4096 appends. */
const batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096];
const batchBytesBuckets = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];
const raftRoles = ["follower", "preCandidate", "candidate", "leader"];
const metricNamePattern = /^strand_[a-z][a-z0-9_]*$/;

/**
 * The metric set of one node. The server feeds request figures, the log its observer
 * callbacks and a stats function; Raft and membership register through
 * {@linkcode Metrics.registerRaftStats} / {@linkcode Metrics.registerMembershipStats} or the
 * generic {@linkcode Metrics.gauge} / {@linkcode Metrics.counter} / {@linkcode Metrics.histogram}.
 *
 * @example
 * ```ts
 * const metrics = new Metrics({ defaultLabels: { node: "n1" } });
 * metrics.observeRequest({ transport: "grpc", method: "Produce", status: "OK", durationSeconds: 0.002 });
 * metrics.produced(1, 100);
 * const text = await metrics.exposition(); // Prometheus text format
 * ```
 */
export class Metrics {
  /** The registry every metric of this node lives in. */
  readonly registry: Registry = new Registry();
  /** Pass to the log: each group commit's size, write and fsync time land in histograms. */
  readonly logObserver: LogObserver;

  readonly #requests: Counter<"transport" | "method" | "status">;
  /** The record/byte counters by direction, resolved once (called per append and read). */
  readonly #flow: Record<
    "producedRecords" | "producedBytes" | "consumedRecords" | "consumedBytes",
    { inc(value: number): void }
  >;
  readonly #requestChildren = new Map<
    string,
    { requests: { inc(): void }; seconds: { observe(value: number): void } }
  >();
  readonly #requestSeconds: Histogram<"transport" | "method" | "status">;
  readonly #records: Counter<"direction">;
  readonly #bytes: Counter<"direction">;
  readonly #openStreams: Gauge<"transport" | "method">;
  readonly #appendSeconds: Histogram;

  /** Creates the registry and registers the request, record, stream and log metrics. */
  constructor(options: MetricsOptions = {}) {
    if (options.defaultLabels !== undefined) {
      this.registry.setDefaultLabels({ ...options.defaultLabels });
    }
    if (options.processMetrics === true) this.#registerProcessMetrics();
    const latencyBuckets = [...(options.latencyBucketsSeconds ?? latencyBucketsDefault)];
    const requestLabels = ["transport", "method", "status"] as const;
    this.#requests = this.counter({
      name: "strand_requests_total",
      help: "Requests served, by transport (grpc, http), method and status.",
      labelNames: requestLabels,
    });
    this.#requestSeconds = this.histogram({
      name: "strand_request_duration_seconds",
      help: "Request latency from arrival to response, by transport, method and status.",
      labelNames: requestLabels,
      buckets: latencyBuckets,
    });
    this.#records = this.counter({
      name: "strand_records_total",
      help: "Records produced (appended) and consumed (sent to consumers), by direction.",
      labelNames: ["direction"],
    });
    this.#bytes = this.counter({
      name: "strand_record_bytes_total",
      help: "Record value bytes produced and consumed, by direction.",
      labelNames: ["direction"],
    });
    this.#openStreams = this.gauge({
      name: "strand_open_streams",
      help: "Streams (ProduceStream, ConsumeStream, HTTP tails) open now.",
      labelNames: ["transport", "method"],
    });
    this.#appendSeconds = this.histogram({
      name: "strand_log_append_duration_seconds",
      help: "Latency of one append as the server waits for it: from the call until durable " +
        "(on a cluster: until committed by a quorum).",
      buckets: latencyBuckets,
    });
    this.logObserver = this.#createLogObserver(latencyBuckets);
    this.#flow = {
      producedRecords: this.#records.labels({ direction: "produced" }),
      producedBytes: this.#bytes.labels({ direction: "produced" }),
      consumedRecords: this.#records.labels({ direction: "consumed" }),
      consumedBytes: this.#bytes.labels({ direction: "consumed" }),
    };
  }

  /** Counts one finished request and its latency. */
  observeRequest(sample: RequestSample): void {
    const key = `${sample.transport}\u0000${sample.method}\u0000${sample.status}`;
    let children = this.#requestChildren.get(key);
    if (!children) {
      // prom-client hashes a label object on every call; a request's few label sets are
      // resolved once here (the set is small: transports × methods × statuses).
      const labels = { transport: sample.transport, method: sample.method, status: sample.status };
      children = {
        requests: this.#requests.labels(labels),
        seconds: this.#requestSeconds.labels(labels),
      };
      this.#requestChildren.set(key, children);
    }
    children.requests.inc();
    children.seconds.observe(Math.max(0, sample.durationSeconds));
  }

  /** Counts records appended for clients, and their value bytes. */
  produced(records: number, bytes: number): void {
    this.#flow.producedRecords.inc(records);
    this.#flow.producedBytes.inc(bytes);
  }

  /** Times one append, from the call until it resolved (see `observeCommitLog`). */
  observeAppend(durationSeconds: number): void {
    this.#appendSeconds.observe(Math.max(0, durationSeconds));
  }

  /** Counts records delivered to consumers, and their value bytes. */
  consumed(records: number, bytes: number): void {
    this.#flow.consumedRecords.inc(records);
    this.#flow.consumedBytes.inc(bytes);
  }

  /**
   * Marks a stream open; call the returned function once when it closes (later calls do
   * nothing, so a close path that runs twice cannot drive the gauge negative).
   */
  streamOpened(transport: Transport, method: string): () => void {
    const labels = { transport, method };
    this.#openStreams.inc(labels);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#openStreams.dec(labels);
    };
  }

  /** The Prometheus text exposition of every metric. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** The `Content-Type` of {@linkcode Metrics.exposition}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Reads the log's figures on every scrape: size, segments, first and last offset. Register
   * once; a stats function that throws (log closed) reports NaN for that scrape.
   */
  registerLogStats(stats: () => LogStats): void {
    const read = guarded(stats);
    this.#scrapedGauge("strand_log_size_bytes", "Bytes of the log's segment files.", () => {
      return read()?.bytes;
    });
    this.#scrapedGauge("strand_log_segments", "Segments in the log.", () => read()?.segments);
    this.#scrapedGauge(
      "strand_log_first_offset",
      "Offset of the first retained record.",
      () => read()?.firstOffset,
    );
    this.#scrapedGauge(
      "strand_log_last_offset",
      "Offset of the last record (-1 when the log holds none).",
      () => {
        const nextOffset = read()?.nextOffset;
        return nextOffset === undefined ? undefined : nextOffset - 1;
      },
    );
  }

  /** Reads Raft's figures on every scrape: term, role, commit/applied index, follower lag. */
  registerRaftStats(stats: () => RaftStats): void {
    const read = guarded(stats);
    this.#scrapedGauge("strand_raft_term", "Current Raft term.", () => read()?.term);
    this.#scrapedGauge("strand_raft_commit_index", "Raft commit index.", () => {
      return read()?.commitIndex;
    });
    this.#scrapedGauge("strand_raft_applied_index", "Raft applied index.", () => {
      return read()?.appliedIndex;
    });
    this.gauge({
      name: "strand_raft_role",
      help: "1 for the node's current Raft role, 0 for the others.",
      labelNames: ["role"],
      collect() {
        this.reset();
        const role = read()?.role;
        if (role === undefined) return;
        // Every known role is exposed (0 or 1) so a role change never leaves a stale series.
        for (const each of new Set([...raftRoles, role])) {
          this.set({ role: each }, +(each === role));
        }
      },
    });
    this.gauge({
      name: "strand_raft_follower_lag_entries",
      help: "Entries each follower is behind the leader's last index (reported by the leader).",
      labelNames: ["peer"],
      collect() {
        this.reset();
        const lag = read()?.followerLagEntries ?? {};
        for (const [peer, entries] of Object.entries(lag)) this.set({ peer }, entries);
      },
    });
  }

  /** Reads the membership's counts by state on every scrape. */
  registerMembershipStats(stats: () => MembershipStats): void {
    const read = guarded(stats);
    this.gauge({
      name: "strand_members",
      help: "Cluster members known to this node, by SWIM state.",
      labelNames: ["state"],
      collect() {
        this.reset();
        for (const [state, count] of Object.entries(read() ?? {})) this.set({ state }, count);
      },
    });
  }

  /** Registers a counter; the name must be `strand_…_total`. */
  counter<L extends string>(config: MetricConfig<L>): Counter<L> {
    checkName(config.name, /_total$/);
    return new Counter({
      ...config,
      labelNames: [...(config.labelNames ?? [])],
      registers: [this.registry],
    });
  }

  /** Registers a gauge, optionally computed on scrape by `collect`. */
  gauge<L extends string>(
    config: MetricConfig<L> & { collect?: (this: Gauge<L>) => void | Promise<void> },
  ): Gauge<L> {
    checkName(config.name, /^(?!.*_total$)/);
    return new Gauge({
      ...config,
      labelNames: [...(config.labelNames ?? [])],
      registers: [this.registry],
    });
  }

  /** Registers a histogram; durations must be in `_seconds`, sizes in `_bytes`. */
  histogram<L extends string>(
    config: MetricConfig<L> & { buckets: readonly number[] },
  ): Histogram<L> {
    checkName(config.name, /^(?!.*_total$)/);
    return new Histogram({
      ...config,
      labelNames: [...(config.labelNames ?? [])],
      buckets: [...config.buckets],
      registers: [this.registry],
    });
  }

  #scrapedGauge(name: string, help: string, value: () => number | undefined): void {
    this.gauge({
      name,
      help,
      collect() {
        // An unlabelled prom-client gauge is always exposed, so "unknown" is NaN, never a
        // made-up 0 that a dashboard would plot as real.
        this.set(value() ?? NaN);
      },
    });
  }

  #createRecoveryCounters(): (event: LogRecoveryEvent) => void {
    const events = this.counter({
      name: "strand_log_recovery_events_total",
      help: "Damage the log found at open or when a read failed: corrupt (damaged entries " +
        "kept, reading DATA_LOSS), tail_cut (a torn tail cut), index_rebuilt (an index " +
        "disagreed with its store).",
      labelNames: ["kind"],
    });
    const corrupt = this.counter({
      name: "strand_log_recovery_corrupt_records_total",
      help: "Record offsets found damaged and kept (reads of them fail with DATA_LOSS).",
    });
    const cut = this.counter({
      name: "strand_log_recovery_cut_bytes_total",
      help: "Bytes of torn tails recovery cut from the last segment after a crash.",
    });
    return (event) => {
      events.inc({ kind: event.kind });
      if (event.kind === "corrupt") {
        corrupt.inc(Math.max(0, (event.endOffset ?? 0) - (event.firstOffset ?? 0)));
      }
      if (event.kind === "tail_cut") cut.inc(event.bytes ?? 0);
    };
  }

  #createLogObserver(latencyBuckets: number[]): LogObserver {
    const write = this.histogram({
      name: "strand_log_write_duration_seconds",
      help: "Time one group commit spent writing to the log's files.",
      buckets: latencyBuckets,
    });
    const fsync = this.histogram({
      name: "strand_log_fsync_duration_seconds",
      help: "Time one group commit spent in fsync (groups the policy did not sync are left out).",
      buckets: latencyBuckets,
    });
    const batchEntries = this.histogram({
      name: "strand_log_commit_batch_entries",
      help: "Entries (appends) coalesced into one group commit: one write, at most one fsync.",
      buckets: batchBuckets,
    });
    const batchBytes = this.histogram({
      name: "strand_log_commit_batch_bytes",
      help: "Bytes written by one group commit.",
      buckets: batchBytesBuckets,
    });
    const onRecovery = this.#createRecoveryCounters();
    return {
      onRecovery,
      onGroupCommit: (event) => {
        batchEntries.observe(event.entries);
        batchBytes.observe(event.bytes);
        write.observe(Math.max(0, event.writeMs) / 1000);
        if (event.fsyncMs > 0) fsync.observe(event.fsyncMs / 1000);
      },
    };
  }

  /**
   * The runtime's standard `process_*` and `nodejs_*` series. prom-client reads resident memory
   * and descriptors from /proc/self, which the shipped permissions do not grant: it would report
   * them as 0. Without that access the descriptor series are left out (absent, not a made-up
   * 0) and resident memory comes from the runtime, which needs no permission.
   */
  #registerProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
    if (procSelfReadable()) return;
    for (const name of procSelfSeries) this.registry.removeSingleMetric(name);
    new Gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes.",
      registers: [this.registry],
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
  }
}

/** Name, help and label names of a metric registered through {@linkcode Metrics}. */
export interface MetricConfig<L extends string> {
  /** `strand_<snake_case>` with its unit last (`_seconds`, `_bytes`, `_total`). */
  readonly name: string;
  /** One sentence for `# HELP`. */
  readonly help: string;
  /** Label names; keep their values few (no offsets, ids or paths). */
  readonly labelNames?: readonly L[];
}

function checkName(name: string, suffixRule: RegExp): void {
  if (!metricNamePattern.test(name) || !suffixRule.test(name)) {
    throw new ObserveError(
      "INVALID_ARGUMENT",
      `Cannot register metric "${name}": names are strand_<snake_case>, counters end in _total ` +
        `and only counters do`,
    );
  }
}

/** Wraps a stats function so one throwing read yields "unknown" instead of failing the scrape. */
function guarded<T>(stats: () => T): () => T | undefined {
  return () => {
    try {
      return stats();
    } catch {
      return undefined;
    }
  };
}

/** prom-client's series that read /proc/self (status, fd/, limits). */
const procSelfSeries = [
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
] as const;

function procSelfReadable(): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path: "/proc/self/status" }).state ===
      "granted";
  } catch {
    return false;
  }
}
