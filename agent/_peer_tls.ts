/**
 * Raft peer traffic under mutual TLS against the peer CA: a TLS listener that hands each
 * authenticated connection to the transport (with the name its certificate gives), and the
 * matching dialer. Peers are dialled as `localhost` (Deno refuses an IP as TLS server name),
 * so node certificates carry `localhost` (or the host name dialled) as a DNS SAN.
 * @module
 */
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { dialTls, type PeerStream, streamFromSocket } from "../raft/mod.ts";
import type { PeerTls } from "../security/mod.ts";

/** The server name peers are verified as. */
export const PEER_SERVER_NAME = "localhost";

/** A dialer for the peer transport. */
export function peerTlsDialer(peerTls: PeerTls): (address: string) => Promise<PeerStream> {
  return dialTls(() => peerTls.connectOptions(PEER_SERVER_NAME));
}

/** Listens on `host`:0; calls `accept` with each connection whose client certificate the CA signed. */
export function listenPeerTls(
  peerTls: PeerTls,
  host: string,
  accept: (stream: PeerStream, certificateName: string) => void,
): Promise<{ port: number; close(): void }> {
  const options = peerTls.connectOptions(PEER_SERVER_NAME);
  const server = tls.createServer({
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  }, (socket) => {
    socket.setNoDelay(true);
    const subject = socket.getPeerCertificate()?.subject?.CN ?? "";
    accept(streamFromSocket(socket), Array.isArray(subject) ? "" : subject);
  });
  // A failed handshake (wrong CA, no certificate) only costs that connection.
  server.on("tlsClientError", () => {});
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => server.close(),
      });
    });
  });
}
