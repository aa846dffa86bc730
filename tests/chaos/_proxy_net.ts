/**
 * The fallback when network namespaces are unavailable: nodes on loopback, each announcing
 * (`--advertise-addr`, `--advertise-rpc-addr`) a proxy in front of its gossip port (UDP and
 * TCP) and its RPC port, so every byte a node sends a peer passes a proxy of this test.
 *
 * A proxy knows who is talking: a UDP datagram by its source port (each node's gossip
 * socket), a Raft connection by the sender of its first frame. Across a cut link those are
 * dropped (datagrams) or reset (connections, and any open one is torn down at the cut).
 * Connections it cannot attribute (gossip push/pull over TCP, forwarded client writes) are
 * cut only at an isolated node's own proxy: from an isolated node they still get through.
 * This is weaker than namespaces, which is why the tests say which one they ran on.
 * @module
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { decodeBody, FrameSplitter } from "../../raft/_codec.ts";
import type { ChaosNet } from "./_cluster.ts";
import { freePort } from "../_ports.ts";

const host = "127.0.0.1";
const preamble = new TextEncoder().encode("STRANDP1");

interface Tracked {
  readonly source: number | null;
  readonly target: number;
  readonly sockets: net.Socket[];
}

interface NodePorts {
  gossip: number;
  rpc: number;
  http: number;
}

/** Proxies in front of `size` loopback nodes; see the module doc. */
export class ProxyNet implements ChaosNet {
  readonly kind = "proxy";
  readonly size: number;
  readonly #real: NodePorts[] = [];
  readonly #proxyGossip: number[] = [];
  readonly #proxyRpc: number[] = [];
  readonly #cuts = new Set<string>();
  readonly #tracked = new Set<Tracked>();
  readonly #servers: net.Server[] = [];
  readonly #udp: dgram.Socket[] = [];
  /** Counters: what the proxies dropped, for the tests to prove they cut something. */
  readonly dropped = { datagrams: 0, connections: 0 };

  private constructor(size: number) {
    this.size = size;
  }

  /** Binds the proxies for `size` nodes. */
  static async create(size: number): Promise<ProxyNet> {
    const network = new ProxyNet(size);
    try {
      for (let index = 0; index < size; index++) {
        // The nodes bind these themselves, after this returns: ports no port-0 bind can take.
        const gossip = await freePort({ udp: true });
        network.#real.push({ gossip, rpc: await freePort(), http: await freePort() });
        await network.#bindGossip(index);
        await network.#bindRpc(index);
      }
    } catch (error) {
      await network.close();
      throw error;
    }
    return network;
  }

  execPrefix(): string[] {
    return [];
  }

  nodeArgs(index: number): string[] {
    const real = this.#real[index]!;
    return [
      ...["--bind-addr", `${host}:${real.gossip}`, "--advertise-addr"],
      `${host}:${this.#proxyGossip[index]}`,
      ...["--rpc-port", String(real.rpc), "--advertise-rpc-addr"],
      `${host}:${this.#proxyRpc[index]}`,
      ...["--http-port", String(real.http)],
    ];
  }

  clientAddr(index: number): string {
    return `${host}:${this.#real[index]!.rpc}`;
  }

  seedAddr(): string {
    return `${host}:${this.#proxyGossip[0]}`;
  }

  isolate(index: number): Promise<void> {
    for (let other = 0; other < this.size; other++) {
      if (other !== index) this.#cuts.add(pairKey(index, other));
    }
    this.#enforce();
    return Promise.resolve();
  }

  split(groups: number[][]): Promise<void> {
    this.#cuts.clear();
    const groupOf = new Map<number, number>();
    groups.forEach((group, g) => group.forEach((index) => groupOf.set(index, g)));
    for (let a = 0; a < this.size; a++) {
      for (let b = a + 1; b < this.size; b++) {
        if (groupOf.get(a) !== groupOf.get(b)) this.#cuts.add(pairKey(a, b));
      }
    }
    this.#enforce();
    return Promise.resolve();
  }

  heal(): Promise<void> {
    this.#cuts.clear();
    return Promise.resolve();
  }

  #cut(a: number | null, b: number): boolean {
    if (a === null) return this.#isolated(b);
    return a !== b && this.#cuts.has(pairKey(a, b));
  }

  #isolated(index: number): boolean {
    for (let other = 0; other < this.size; other++) {
      if (other !== index && !this.#cuts.has(pairKey(index, other))) return false;
    }
    return this.size > 1;
  }

  /** Tears down open connections across a cut. */
  #enforce(): void {
    for (const tracked of this.#tracked) {
      if (this.#cut(tracked.source, tracked.target)) {
        this.dropped.connections++;
        for (const socket of tracked.sockets) socket.destroy();
        this.#tracked.delete(tracked);
      }
    }
  }

  #nodeByGossipPort(port: number): number | null {
    const index = this.#real.findIndex((real) => real.gossip === port);
    return index < 0 ? null : index;
  }

  async #bindGossip(target: number): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const server = net.createServer((socket) => this.#pipe(socket, null, target, "gossip"));
      const port = await listen(server, 0);
      const socket = dgram.createSocket("udp4");
      const bound = await new Promise<boolean>((resolve) => {
        socket.once("error", () => resolve(false));
        socket.bind(port, host, () => resolve(true));
      });
      if (!bound) {
        server.close();
        socket.close();
        continue;
      }
      this.#servers.push(server);
      this.#udp.push(socket);
      this.#proxyGossip[target] = port;
      this.#relayDatagrams(socket, target);
      return;
    }
    throw new Error("cannot bind a gossip proxy port for TCP and UDP");
  }

  /** Datagrams to `target`: one relay socket per sender, so answers find their way back. */
  #relayDatagrams(front: dgram.Socket, target: number): void {
    const relays = new Map<number, dgram.Socket>();
    front.on("message", (message, from) => {
      const source = this.#nodeByGossipPort(from.port);
      if (this.#cut(source, target)) {
        this.dropped.datagrams++;
        return;
      }
      let relay = relays.get(from.port);
      if (relay === undefined) {
        relay = dgram.createSocket("udp4");
        relay.bind(0, host);
        relay.on("message", (answer) => {
          if (this.#cut(source, target)) this.dropped.datagrams++;
          else front.send(answer, from.port, host);
        });
        relays.set(from.port, relay);
        this.#udp.push(relay);
      }
      relay.send(message, this.#real[target]!.gossip, host);
    });
  }

  async #bindRpc(target: number): Promise<void> {
    const server = net.createServer((socket) => this.#acceptRpc(socket, target));
    this.#proxyRpc[target] = await listen(server, 0);
    this.#servers.push(server);
  }

  /** Raft connections name their sender in the first frame: read it before piping. */
  #acceptRpc(socket: net.Socket, target: number): void {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const splitter = new FrameSplitter();
    let peer: boolean | null = null;
    const onData = (chunk: Uint8Array) => {
      chunks.push(chunk);
      total += chunk.length;
      if (peer === null && total >= preamble.length) {
        const head = Buffer.concat(chunks).subarray(0, preamble.length);
        peer = head.every((byte, i) => byte === preamble[i]);
        if (!peer) return start(null);
        const rest = Buffer.concat(chunks).subarray(preamble.length);
        return sniff(rest);
      }
      if (peer === true) sniff(chunk);
    };
    const sniff = (bytes: Uint8Array) => {
      try {
        const body = splitter.push(bytes)[0];
        if (body === undefined) return;
        const from = decodeBody(body).from;
        start(Number(from.slice(1)) - 1);
      } catch {
        socket.destroy();
      }
    };
    const start = (source: number | null) => {
      socket.off("data", onData);
      socket.pause();
      this.#pipe(socket, source, target, "rpc", Buffer.concat(chunks));
    };
    socket.on("data", onData);
    socket.on("error", () => {});
  }

  #pipe(
    socket: net.Socket,
    source: number | null,
    target: number,
    port: "gossip" | "rpc",
    head?: Uint8Array,
  ): void {
    socket.on("error", () => {});
    if (this.#cut(source, target)) {
      this.dropped.connections++;
      socket.destroy();
      return;
    }
    const upstream = net.connect(this.#real[target]![port], host);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
    const tracked: Tracked = { source, target, sockets: [socket, upstream] };
    this.#tracked.add(tracked);
    const forget = () => {
      this.#tracked.delete(tracked);
      socket.destroy();
      upstream.destroy();
    };
    socket.on("close", forget);
    upstream.on("close", forget);
    if (head !== undefined && head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.resume();
  }

  async close(): Promise<void> {
    for (const tracked of this.#tracked) for (const socket of tracked.sockets) socket.destroy();
    this.#tracked.clear();
    for (const socket of this.#udp) {
      try {
        socket.close();
      } catch { /* already closed */ }
    }
    await Promise.all(
      this.#servers.map((server) => new Promise((resolve) => server.close(() => resolve(null)))),
    );
  }
}

function pairKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}
