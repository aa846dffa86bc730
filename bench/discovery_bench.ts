/**
 * `deno task bench discovery`: SWIM membership measured in deterministic simulation at
 * 10, 50, 100 and 200 members (default settings, 1–10 ms delay). Figures are simulated
 * time, so they do not depend on this machine's load:
 * - time until the first member, and until every member, declares a crash failed;
 * - time until every member sees a newly joined member (and it sees them);
 * - gossip bytes per second per member in a steady cluster (UDP + push/pull TCP, sealed);
 * - false failures at 10% packet loss over 1,000 probe rounds (target 0).
 * @module
 */

import { defaultConfig } from "../discovery/mod.ts";
import { SeededRandom } from "../tests/sim/random.ts";
import { SimCluster } from "../tests/sim/swim/cluster.ts";

const sizes = [10, 50, 100, 200];
const trials = 5;

interface Figure {
  name: string;
  value: number;
  unit: string;
}

function formed(size: number, seed: number, lossRate = 0): SimCluster {
  const cluster = new SimCluster({ seed, network: { lossRate, delayMsMin: 1, delayMsMax: 10 } });
  for (let i = 0; i < size; i++) cluster.addNode(`node-${i}`, { rpc: `10.1.0.${i % 256}:8400` });
  cluster.bootstrap();
  return cluster;
}

/** Crash one member; returns [first detection, detection by all] in ms after the crash. */
function detection(size: number, seed: number): [number, number] {
  const cluster = formed(size, seed);
  cluster.runUntil(5_000 + new SeededRandom(seed).intBelow(1_000));
  const victim = `node-${new SeededRandom(seed + 1).intBelow(size)}`;
  cluster.crash(victim);
  const crashMs = cluster.nowMs;
  const detected = new Set<string>();
  let firstMs = NaN;
  let scanned = cluster.events.length;
  cluster.runUntil(crashMs + 60_000, () => {
    for (; scanned < cluster.events.length; scanned++) {
      const { observer, event } = cluster.events[scanned] as (typeof cluster.events)[number];
      if (event.type === "fail" && event.member.name === victim) {
        detected.add(observer.name);
        if (Number.isNaN(firstMs)) firstMs = cluster.nowMs - crashMs;
      }
    }
    return detected.size === size - 1;
  });
  return [firstMs, detected.size === size - 1 ? cluster.nowMs - crashMs : NaN];
}

/** A new member joins through one seed; ms until all views include it and it sees all. */
function joinConvergence(size: number, seed: number): number {
  const cluster = formed(size, seed);
  cluster.runUntil(3_000);
  const joiner = cluster.addNode("joiner");
  cluster.join("joiner", [`node-${new SeededRandom(seed).intBelow(size)}`]);
  const startMs = cluster.nowMs;
  let doneMs = NaN;
  cluster.runUntil(startMs + 120_000, () => {
    const everyoneSeesIt = cluster.running().every((node) =>
      node === joiner || cluster.viewOf(node, "joiner")?.status === "alive"
    );
    if (!everyoneSeesIt || joiner.core.liveCount !== size + 1) return false;
    doneMs = cluster.nowMs - startMs;
    return true;
  });
  return doneMs;
}

/** Steady-state gossip traffic in bytes per second per member, and false failures. */
function traffic(size: number, seed: number, lossRate: number, durationMs: number) {
  const cluster = formed(size, seed, lossRate);
  // Past the first (unscaled) push/pull of every node, so the window shows the steady rate.
  const warmupMs = 2 * defaultConfig.pushPullIntervalMs + 5_000;
  cluster.runUntil(warmupMs);
  const before = cluster.running().reduce((sum, n) => sum + n.udpBytesSent + n.tcpBytesSent, 0);
  const eventsBefore = cluster.events.length;
  cluster.runUntil(warmupMs + durationMs);
  const after = cluster.running().reduce((sum, n) => sum + n.udpBytesSent + n.tcpBytesSent, 0);
  const falseFailures =
    cluster.events.slice(eventsBefore).filter((e) => e.event.type === "fail").length;
  return { bytesPerSecond: (after - before) / size / (durationMs / 1000), falseFailures };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function measure(size: number): { row: string[]; figures: Figure[] } {
  const started = performance.now();
  const detections = Array.from({ length: trials }, (_, i) => detection(size, 1000 * size + i));
  const firstMs = mean(detections.map(([first]) => first));
  const allMs = mean(detections.map(([, all]) => all));
  const allMaxMs = Math.max(...detections.map(([, all]) => all));
  const joinMs = mean(
    Array.from({ length: trials }, (_, i) => joinConvergence(size, 2000 * size + i)),
  );
  const steady = traffic(size, 3000 * size, 0, 300_000);
  const lossy = traffic(size, 4000 * size, 0.1, 1_000 * defaultConfig.probeIntervalMs);
  const wallMs = performance.now() - started;
  const n = `n${size}`;
  return {
    row: [
      String(size),
      firstMs.toFixed(0),
      allMs.toFixed(0),
      allMaxMs.toFixed(0),
      joinMs.toFixed(0),
      steady.bytesPerSecond.toFixed(0),
      lossy.bytesPerSecond.toFixed(0),
      String(lossy.falseFailures),
      (wallMs / 1000).toFixed(1),
    ],
    figures: [
      { name: `discovery.detect.first.${n}`, value: Math.round(firstMs), unit: "ms (simulated)" },
      { name: `discovery.detect.all.${n}`, value: Math.round(allMs), unit: "ms (simulated)" },
      {
        name: `discovery.detect.all.max.${n}`,
        value: Math.round(allMaxMs),
        unit: "ms (simulated)",
      },
      { name: `discovery.join.converge.${n}`, value: Math.round(joinMs), unit: "ms (simulated)" },
      {
        name: `discovery.gossip.${n}`,
        value: Math.round(steady.bytesPerSecond),
        unit: "bytes/s/member",
      },
      {
        name: `discovery.gossip.loss10.${n}`,
        value: Math.round(lossy.bytesPerSecond),
        unit: "bytes/s/member",
      },
      {
        name: `discovery.false_failures.loss10.${n}`,
        value: lossy.falseFailures,
        unit: "count/1000 rounds",
      },
    ],
  };
}

if (import.meta.main) {
  const wanted = Deno.args.length > 0 ? Deno.args.map(Number) : sizes;
  const header = [
    "members",
    "detect first ms",
    "detect all ms",
    "all max ms",
    "join conv ms",
    "bytes/s/member",
    "@10% loss",
    "false fails",
    "wall s",
  ];
  const rows: string[][] = [];
  const figures: Figure[] = [];
  for (const size of wanted) {
    const result = measure(size);
    rows.push(result.row);
    figures.push(...result.figures);
  }
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => cell.padStart(widths[i] ?? 0)).join("  ");
  console.log(
    `SWIM simulation, ${trials} trials per figure, default config (probe ${defaultConfig.probeIntervalMs} ms)`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const figure of figures) console.log(JSON.stringify(figure));
}
