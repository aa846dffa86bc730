/**
 * How the agent wires Raft to the log and to metrics: weaker durability said once, batch
 * limits checked against the peer frame, Raft and transport counters exported.
 */
import { type FileLog, openLog, parseFsyncPolicy } from "../../log/mod.ts";
import { Metrics } from "../../observe/mod.ts";
import { encodeFrame, ENTRY_BYTES_MAX, MessageType } from "../../raft/mod.ts";
import type { Logger } from "../../server/mod.ts";
import { Cluster, ClusterStartError } from "../../agent/_cluster.ts";
import { registerClusterMetrics } from "../../agent/_cluster_metrics.ts";
import type { Forwarder } from "../../agent/_forward.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn: (message) => warnings.push(message),
    error: (message) => warnings.push(message),
  };
}

const noForwarder = {} as Forwarder;

async function withMember(
  fsync: string,
  run: (
    store: FileLog,
    dataDir: string,
    logger: ReturnType<typeof recordingLogger>,
  ) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "strand-wiring-" });
  const store = await openLog(`${dataDir}/log`, { fsync: parseFsyncPolicy(fsync) });
  const logger = recordingLogger();
  try {
    await run(store, dataDir, logger);
  } finally {
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

function options(dataDir: string, logger: Logger) {
  return {
    nodeName: "n1",
    dataDir,
    bindHost: "127.0.0.1",
    gossipPort: 0,
    joinAddrs: [],
    gossipKey: null,
    logger,
    forwarder: noForwarder,
  };
}

Deno.test("cluster wiring: fsync never runs Raft without durability and says so in one line naming the flag", async () => {
  await withMember("never", async (store, dataDir, logger) => {
    const cluster = await Cluster.open(store, { ...options(dataDir, logger), fsyncMode: "never" });
    try {
      assert(cluster.status().durability === "none", "status reports durability none");
      const lines = logger.warnings.filter((line) => line.includes("synced"));
      assert(lines.length === 1, `one warning line, got ${JSON.stringify(logger.warnings)}`);
      assert(lines[0]!.includes("--fsync always"), `the line names the flag: ${lines[0]}`);
    } finally {
      await cluster.close();
    }
  });
});

Deno.test("cluster wiring: fsync always runs Raft durably and warns nothing", async () => {
  await withMember("always", async (store, dataDir, logger) => {
    const cluster = await Cluster.open(store, { ...options(dataDir, logger), fsyncMode: "always" });
    try {
      assert(cluster.status().durability === "fsync", "status reports durability fsync");
      assert(logger.warnings.length === 0, `no warning: ${JSON.stringify(logger.warnings)}`);
    } finally {
      await cluster.close();
    }
  });
});

Deno.test("cluster wiring: a batch limit that cannot fit one peer frame is refused at start", async () => {
  await withMember("always", async (store, dataDir, logger) => {
    let error: unknown = null;
    try {
      const cluster = await Cluster.open(store, {
        ...options(dataDir, logger),
        batchBytesMax: ENTRY_BYTES_MAX + 1,
      });
      await cluster.close();
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof ClusterStartError, `refused with ClusterStartError, got ${error}`);
    assert(error.message.includes("--record-bytes-max"), error.message);
    // The largest batch that fits is accepted.
    const cluster = await Cluster.open(store, {
      ...options(dataDir, logger),
      batchBytesMax: ENTRY_BYTES_MAX,
    });
    await cluster.close();
  });
});

Deno.test("cluster wiring: Raft and peer transport counters are exported as metrics", async () => {
  await withMember("interval=1000", async (store, dataDir, logger) => {
    const cluster = await Cluster.open(store, {
      ...options(dataDir, logger),
      fsyncMode: "interval",
    });
    try {
      const metrics = new Metrics();
      registerClusterMetrics(metrics, cluster);
      const text = await metrics.exposition();
      for (
        const line of [
          'strand_raft_node_events{event="unreachable_reports"} 0',
          'strand_raft_node_events{event="send_errors"} 0',
          'strand_raft_peer_events{event="bad_headers"} 0',
          'strand_raft_peer_events{event="dropped_messages"} 0',
          'strand_raft_peer_events{event="connects"} 0',
          "strand_raft_durability_synced 0",
        ]
      ) {
        assert(text.includes(line), `${line} in\n${text}`);
      }
      assert(text.includes("# TYPE strand_raft_peer_queue_messages gauge"), text);
    } finally {
      await cluster.close();
    }
  });
});

Deno.test("cluster wiring: a peer connection whose certificate names a member speaks only for it", async () => {
  await withMember("always", async (store, dataDir, logger) => {
    const cluster = await Cluster.open(store, options(dataDir, logger));
    try {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const writer = writable.getWriter();
      cluster.acceptPeer({ readable, writable: new WritableStream(), close() {} }, "n1");
      // A message claiming another sender on a connection authenticated as n1.
      await writer.write(
        encodeFrame({ type: MessageType.TimeoutNow, from: "x", to: "n1", term: 9 }),
      );
      const deadline = Date.now() + 5_000;
      while (cluster.transportStats().counters.identityMismatches === 0) {
        assert(Date.now() < deadline, "the mismatch was not counted within 5 s");
        await new Promise((resolve) => setTimeout(resolve, 10)); // poll, bounded by the deadline
      }
      assert(cluster.status().term < 9, "the forged message did not reach Raft");
      await writer.close();
    } finally {
      await cluster.close();
    }
  });
});
