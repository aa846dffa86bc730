/**
 * Shared pieces of the cluster-agent tests (graceful leave, the last voter, member removal):
 * agents on 127.0.0.1 with free ports, peer dialers whose outbound Raft traffic the test gates,
 * and produce/read helpers.
 * @module
 */
import { type Agent, startAgent } from "../../agent/mod.ts";
import type { PeerStream } from "../../raft/mod.ts";
import { type Logger, peerDialer } from "../../server/mod.ts";
import { assert, assertEquals, decoder, encoder } from "../server/_assert.ts";

/** A logger that keeps every info, warn and error line (message and fields). */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (message: string, fields?: Record<string, unknown>) =>
    lines.push(fields === undefined ? message : `${message} ${JSON.stringify(fields)}`);
  return { lines, debug() {}, info: record, warn: record, error: record };
}

/** Starts cluster member `name` in `dir/name`; without join addresses it bootstraps. */
export function start(
  dir: string,
  name: string,
  options: {
    joinAddrs?: string[];
    /** The gossip port to bind (0: any free one), e.g. to restart a member on its address. */
    gossipPort?: number;
    logger?: Logger;
    dialPeer?: (address: string) => Promise<PeerStream>;
  } = {},
): Promise<Agent> {
  const joinAddrs = options.joinAddrs ?? [];
  return startAgent({
    dataDir: `${dir}/${name}`,
    nodeName: name,
    bindHost: "127.0.0.1",
    rpcPort: 0,
    httpPort: 0,
    ...(options.logger ? { logger: options.logger } : {}),
    cluster: {
      bootstrap: joinAddrs.length === 0,
      joinAddrs,
      gossipPort: options.gossipPort ?? 0,
      gossipKey: null,
      ...(options.dialPeer ? { dialPeer: options.dialPeer } : {}),
    },
  });
}

/**
 * Dials peers as usual, but passes each outbound write through `filter` (which may return
 * null to drop it). The transport writes whole frames, so a filter that keeps or drops whole
 * frames loses messages (Raft resends), never corrupts a stream.
 */
function filteredDialer(
  filter: (chunk: Uint8Array) => Uint8Array | null,
): (address: string) => Promise<PeerStream> {
  const dial = peerDialer();
  return async (address) => {
    const conn = await dial(address);
    const writer = conn.writable.getWriter();
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        const kept = filter(chunk);
        return kept === null ? undefined : writer.write(kept);
      },
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    });
    return { readable: conn.readable, writable, close: () => conn.close() };
  };
}

/** Drops every outbound Raft write made while `drop()` holds. */
export function gatedDialer(drop: () => boolean): (address: string) => Promise<PeerStream> {
  return filteredDialer((chunk) => drop() ? null : chunk);
}

/** Bytes before a frame's body: u32 body length, body checksum, header checksum. */
const frameHeaderBytes = 12;

/**
 * Drops the outbound Raft messages whose type `drop(type)` names (written while it holds);
 * everything else passes. E.g. dropping only `MessageType.AppendResponse`: the leader sees
 * this follower's heartbeat answers, so it keeps leading (check-quorum), but never learns
 * that the follower holds a new entry, so nothing that needs it commits.
 */
export function frameGate(
  drop: (type: number) => boolean,
): (address: string) => Promise<PeerStream> {
  return filteredDialer((chunk) => {
    const kept: Uint8Array[] = [];
    let dropped = 0;
    let at = 0;
    while (at < chunk.length) {
      assert(at + frameHeaderBytes < chunk.length, "a write ends inside a frame header");
      const bodyBytes = new DataView(chunk.buffer, chunk.byteOffset + at, 4).getUint32(0);
      const end = at + frameHeaderBytes + bodyBytes;
      // A body starts with its version byte, then its message type.
      if (drop(chunk[at + frameHeaderBytes + 1]!)) dropped++;
      else kept.push(chunk.subarray(at, end));
      at = end;
    }
    assertEquals(at, chunk.length, "a write ends inside a frame");
    if (dropped === 0) return chunk;
    if (kept.length === 0) return null;
    const out = new Uint8Array(kept.reduce((sum, frame) => sum + frame.length, 0));
    let offset = 0;
    for (const frame of kept) {
      out.set(frame, offset);
      offset += frame.length;
    }
    return out;
  });
}

/** Appends `values` through `agent` (its leader) and returns them by offset. */
export async function produce(agent: Agent, values: string[]): Promise<Map<number, string>> {
  const ack = await agent.cluster!.commitLog.append(values.map((value) => encoder.encode(value)));
  return new Map(values.map((value, i) => [ack.baseOffset + i, value]));
}

/** Asserts that `agent` reads every acknowledged record back. */
export function assertHolds(agent: Agent, acked: Map<number, string>): void {
  for (const [offset, value] of acked) {
    assertEquals(decoder.decode(agent.cluster!.commitLog.read(offset).value), value);
  }
}

/**
 * Asserts that `condition` holds at every check for `windowMs` (checked every 10 ms). Used
 * only to show that something does NOT happen while the test holds the cluster in a state.
 */
export async function holdsThroughout(
  condition: () => boolean,
  what: string,
  windowMs: number,
): Promise<void> {
  const end = Date.now() + windowMs;
  while (Date.now() < end) {
    assert(condition(), `${what} stopped holding`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert(condition(), `${what} stopped holding`);
}
