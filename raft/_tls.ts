/**
 * Peer traffic over TLS with node:tls options (as `security/`'s `PeerTls.connectOptions`
 * produces them): a dialer for {@linkcode PeerTransport} and an adapter that turns an
 * accepted node:tls (or net) socket into a {@linkcode PeerStream} for `accept()`.
 * @module
 */

import { Readable, Writable } from "node:stream";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { PeerStream } from "./_transport.ts";

/** Wraps a connected node socket (TLS or plain) as a {@linkcode PeerStream}. */
export function streamFromSocket(socket: Duplex): PeerStream {
  return {
    readable: Readable.toWeb(socket) as unknown as ReadableStream<Uint8Array>,
    writable: Writable.toWeb(socket) as WritableStream<Uint8Array>,
    close: () => socket.destroy(),
  };
}

/**
 * A dial function for {@linkcode PeerTransport} that connects with node:tls. `optionsFor`
 * returns the TLS options for an address (CA, certificate, key, `servername`); dial a host
 * name such as `localhost`, not an IP: Deno refuses an IP address as TLS server name.
 *
 * @example
 * ```ts
 * const dial = dialTls(() => peerTls.connectOptions("localhost"));
 * const transport = new PeerTransport({ onMessage, dial });
 * ```
 */
export function dialTls(
  optionsFor: (address: string) => tls.ConnectionOptions,
): (address: string) => Promise<PeerStream> {
  return (address) => {
    const colon = address.lastIndexOf(":");
    const host = address.slice(0, colon);
    const port = Number(address.slice(colon + 1));
    const { promise, resolve, reject } = Promise.withResolvers<PeerStream>();
    const socket = tls.connect({ host, port, ...optionsFor(address) });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.once("secureConnect", () => {
      socket.removeListener("error", reject);
      resolve(streamFromSocket(socket));
    });
    socket.once("error", reject);
    return promise;
  };
}
