/**
 * The dialing side of peer connections on the shared RPC port: plaintext connections start
 * with the peer preamble, TLS connections offer the peer ALPN protocol (and present the
 * node's certificate: peers use mutual TLS).
 * @module
 */
import * as tls from "node:tls";
import { peerAlpn, type PeerConnection, peerPreamble, socketPeer } from "./_rpc_listener.ts";

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`Cannot dial peer "${address}": expected host:port`);
  }
  return { host, port };
}

/**
 * Returns a dial function for raft/'s `PeerTransport` (`dial` option): plaintext with the
 * preamble, or mutual TLS with `tlsOptions` (e.g. security/'s `PeerTls.connectOptions`)
 * and ALPN "strand-raft". `timeoutMs` bounds connecting and the handshake.
 *
 * @example
 * ```ts
 * const transport = new PeerTransport({ onMessage, dial: peerDialer() });
 * ```
 */
export function peerDialer(
  tlsOptions?: tls.ConnectionOptions,
  timeoutMs = 5000,
): (address: string) => Promise<PeerConnection> {
  return (address) => tlsOptions ? dialTls(address, tlsOptions, timeoutMs) : dialPlain(address);
}

async function dialPlain(address: string): Promise<PeerConnection> {
  const { host, port } = splitAddress(address);
  const conn = await Deno.connect({ hostname: host, port });
  try {
    conn.setNoDelay(true);
    await conn.write(peerPreamble);
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}

function dialTls(
  address: string,
  options: tls.ConnectionOptions,
  timeoutMs: number,
): Promise<PeerConnection> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...options, host, port, ALPNProtocols: [peerAlpn] });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`Cannot dial peer ${address}: no TLS handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`Cannot dial peer ${address}: ${error.message}`));
    });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      if (socket.alpnProtocol !== peerAlpn) {
        socket.destroy();
        reject(new Error(`Cannot dial peer ${address}: it does not speak ${peerAlpn}`));
        return;
      }
      socket.setNoDelay(true);
      resolve(socketPeer(socket));
    });
  });
}
