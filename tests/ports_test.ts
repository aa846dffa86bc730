import * as dgram from "node:dgram";
import { assert, assertEquals } from "./server/_assert.ts";
import { deadAddress, freePort, freePortLayout, portRange } from "./_ports.ts";

Deno.test("ports: drawn below the kernel's ephemeral range, where port-0 binds never land", () => {
  const { low, high } = portRange();
  const text = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
  const [ephemeralLow, ephemeralHigh] = text.trim().split(/\s+/).map(Number) as [number, number];
  assert(high < ephemeralLow || low > ephemeralHigh, `${low}-${high} vs ${text}`);
  assert(high - low >= 1_000, `${low}-${high}`);
});

Deno.test("ports: never the same port twice, each in the range and bindable", async () => {
  const { low, high } = portRange();
  const seen = new Set<number>();
  // ~12,000 ports: without the memory of handed-out ports, 1,000 draws repeat one almost surely.
  for (let i = 0; i < 1_000; i++) {
    const port = await freePort();
    assert(!seen.has(port), `port ${port} handed out twice`);
    assert(port >= low && port <= high, `${port} outside ${low}-${high}`);
    seen.add(port);
  }
  const last = [...seen].at(-1)!;
  Deno.listen({ hostname: "127.0.0.1", port: last }).close();
});

/** Holds a port of the range that this module has not handed out, found by binding. */
function holdInRange(): Deno.Listener {
  const { low, high } = portRange();
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      return Deno.listen({
        hostname: "127.0.0.1",
        port: low + Math.floor(Math.random() * (high - low)),
      });
    } catch { /* taken: another */ }
  }
  throw new Error("no port to hold");
}

/** A random source whose first value draws `port`, then anything. */
function drawFirst(port: number): () => number {
  const { low, high } = portRange();
  const draws = [(port - low + 0.5) / (high - low + 1)];
  return () => draws.shift() ?? Math.random();
}

Deno.test("ports: a port someone holds for TCP is skipped", async () => {
  const held = holdInRange();
  const port = (held.addr as Deno.NetAddr).port;
  try {
    assert((await freePort({ random: drawFirst(port) })) !== port, `held ${port} handed out`);
  } finally {
    held.close();
  }
});

Deno.test("ports: with udp, a port someone holds for UDP is skipped", async () => {
  const tcp = holdInRange();
  const port = (tcp.addr as Deno.NetAddr).port;
  tcp.close();
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", resolve));
  try {
    const picked = await freePort({ udp: true, random: drawFirst(port) });
    assert(picked !== port, `${port}, held for UDP, handed out as a gossip port`);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
});

Deno.test("ports: a layout has every offset free, and none of its ports come back", async () => {
  const offsets = [0, 1, 2, 10, 11, 12];
  const base = await freePortLayout(offsets, { udp: true });
  const held = offsets.map((offset) => Deno.listen({ hostname: "127.0.0.1", port: base + offset }));
  for (const listener of held) listener.close();
  for (let i = 0; i < 200; i++) {
    const port = await freePort();
    assert(!offsets.some((offset) => base + offset === port), `${port} of the layout came back`);
  }
  assertEquals(/^127\.0\.0\.1:\d+$/.test(await deadAddress()), true);
});
