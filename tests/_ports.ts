/**
 * Ports for a test to hand to another process (`serve --rpc-port N`), or to leave unbound on
 * purpose (an address where nothing listens).
 *
 * Binding port 0 and closing it is not enough: the kernel hands port-0 binds ports from its
 * ephemeral range, so another test's port-0 bind can take the port between the close and the
 * child's bind ("Address already in use"). These ports come from below the ephemeral range,
 * where no port-0 bind lands; each is checked by binding it, and this module never hands out the
 * same port twice. Servers that bind port 0 themselves and report their port need none of this.
 * @module
 */
import * as dgram from "node:dgram";

const host = "127.0.0.1";
const fallback = { low: 20_000, high: 32_000 };
/** The narrowest range worth drawing from; narrower, and the fallback is used. */
const rangeWidthMin = 1_000;
const attemptsMax = 500;

/** Ports this module handed out (in this isolate): never handed out again. */
const given = new Set<number>();

/** The kernel's ephemeral range, or null when it cannot be read. */
function ephemeralRange(): { low: number; high: number } | null {
  try {
    const text = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
    const [low, high] = text.trim().split(/\s+/).map(Number);
    if (!Number.isInteger(low) || !Number.isInteger(high)) return null;
    return { low: low!, high: high! };
  } catch {
    return null;
  }
}

/**
 * The range ports are drawn from: [20000, ephemeral low) when that is wide enough, else above
 * the ephemeral range, else 20000–32000.
 */
export function portRange(): { low: number; high: number } {
  const ephemeral = ephemeralRange();
  if (ephemeral === null) return fallback;
  const below = {
    low: Math.min(fallback.low, ephemeral.low - rangeWidthMin),
    high: ephemeral.low - 1,
  };
  if (below.low >= 1024 && below.high - below.low >= rangeWidthMin) return below;
  const above = { low: ephemeral.high + 1, high: 65_535 };
  if (above.high - above.low >= rangeWidthMin) return above;
  return fallback;
}

/** What a port must be free for, and (for tests of this module) the random source. */
export interface PortOptions {
  /** Free for UDP too (a gossip port). */
  udp?: boolean;
  /** Values in [0, 1); `Math.random` unless given. */
  random?: () => number;
}

function tcpFree(port: number): boolean {
  try {
    Deno.listen({ hostname: host, port }).close();
    return true;
  } catch {
    return false;
  }
}

async function udpFree(port: number): Promise<boolean> {
  const socket = dgram.createSocket("udp4");
  const bound = await new Promise<boolean>((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, host, () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return bound;
}

/**
 * A base port `b` such that `b + offset` is free on 127.0.0.1 for every offset (TCP, and UDP
 * too with `udp`), none handed out before; all of them are marked as handed out.
 */
export async function freePortLayout(
  offsets: readonly number[],
  options: PortOptions = {},
): Promise<number> {
  const random = options.random ?? Math.random;
  const { low, high } = portRange();
  const span = Math.max(0, ...offsets);
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const base = low + Math.floor(random() * (high - span - low + 1));
    const ports = offsets.map((offset) => base + offset);
    if (ports.some((port) => given.has(port))) continue;
    if (!ports.every(tcpFree)) continue;
    if (options.udp && !(await allUdpFree(ports))) continue;
    for (const port of ports) given.add(port);
    return base;
  }
  throw new Error(
    `no free port layout ${JSON.stringify(offsets)} in ${low}-${high} after ${attemptsMax} tries`,
  );
}

async function allUdpFree(ports: number[]): Promise<boolean> {
  for (const port of ports) if (!(await udpFree(port))) return false;
  return true;
}

/** One port free on 127.0.0.1 right now (TCP, and UDP too with `udp`); see the module doc. */
export async function freePort(options: PortOptions = {}): Promise<number> {
  return await freePortLayout([0], options);
}

/** A `127.0.0.1:port` address where nothing listens (a free port, never handed out again). */
export async function deadAddress(): Promise<string> {
  return `${host}:${await freePort()}`;
}
