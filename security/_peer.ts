/**
 * Peer TLS: node ↔ node traffic (Raft, forwarding). A node presents its node certificate
 * both as server and as client, and trusts only the peer CA: peers always use mutual TLS.
 * @module
 */
import type { ConnectionOptions } from "node:tls";
import type * as grpc from "@grpc/grpc-js";
import { SecurityError } from "./_errors.ts";
import {
  grpcChannelCredentials,
  grpcChannelOptions,
  ReloadableServerCredentials,
  type TlsMaterial,
} from "./_tls.ts";
import { describeCertificate } from "./_certs.ts";

/**
 * Everything the cluster code needs to listen for and dial peers. After a reload the
 * server credentials serve the new certificate at once; dialers get the new material from
 * the next {@linkcode PeerTls.channelCredentials} call (a channel keeps the credentials it
 * was created with, so redial after `SecurityState.onReload` to rotate outgoing links).
 */
export class PeerTls {
  #material: TlsMaterial & { readonly caPem: string };
  /** Credentials for the peer listener (client certificate required). */
  readonly serverCredentials: ReloadableServerCredentials;

  /** Throws `TLS_FILE_INVALID` when no CA is given: peers must authenticate each other. */
  constructor(material: TlsMaterial) {
    this.#material = requireCa(material);
    this.serverCredentials = new ReloadableServerCredentials(this.#material);
  }

  /** The node's own Common Name: the subject other nodes see when it calls them. */
  get nodeName(): string {
    return describeCertificate(this.#material.certPem).commonName;
  }

  /** Replaces the material for new connections, both incoming and outgoing. */
  update(material: TlsMaterial): void {
    const next = requireCa(material);
    this.serverCredentials.update(next);
    this.#material = next;
  }

  /** Credentials to dial another node: presents this node's certificate. */
  channelCredentials(): grpc.ChannelCredentials {
    return grpcChannelCredentials(this.#material);
  }

  /**
   * Channel options to dial a peer by IP while verifying it as `serverName`, one of its DNS
   * SANs (Deno refuses an IP address as TLS server name).
   */
  channelOptions(serverName: string): grpc.ChannelOptions {
    return grpcChannelOptions(serverName);
  }

  /** node:tls connect options for a raw TLS connection to a peer. */
  connectOptions(serverName: string): ConnectionOptions {
    return {
      ca: this.#material.caPem,
      cert: this.#material.certPem,
      key: this.#material.keyPem,
      servername: serverName,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
    };
  }
}

function requireCa(material: TlsMaterial): TlsMaterial & { readonly caPem: string } {
  const caPem = material.caPem;
  if (caPem === undefined) {
    throw new SecurityError(
      "TLS_FILE_INVALID",
      "Cannot configure peer TLS without a CA: peers authenticate each other (mutual TLS)",
    );
  }
  return { ...material, caPem };
}
