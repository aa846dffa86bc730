/**
 * Who is calling: the Common Name of the verified client certificate. The empty string
 * means anonymous (no certificate, or plaintext) and no ACL policy can name it.
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { PeerCertificate, TLSSocket } from "node:tls";

/** The subject of an anonymous caller. */
export const ANONYMOUS_SUBJECT = "";

/** What grpc-js reports about a call's transport (its `AuthContext`, not exported). */
export interface GrpcAuthContext {
  transportSecurityType?: string;
  sslPeerCertificate?: PeerCertificate;
}

/** The part of a grpc-js server call that carries the TLS peer (all call kinds have it). */
export interface CallWithAuthContext {
  getAuthContext(): GrpcAuthContext | null;
}

/**
 * The subject of a grpc-js call. grpc-js fills `sslPeerCertificate` only for a TLS
 * connection; with mutual TLS (`requestCert` + `rejectUnauthorized`) the certificate has
 * already been verified against the CA during the handshake.
 */
export function subjectOfGrpcCall(call: CallWithAuthContext): string {
  const context = call.getAuthContext();
  if (context === null || context.transportSecurityType !== "ssl") return ANONYMOUS_SUBJECT;
  return commonNameOf(context.sslPeerCertificate);
}

/**
 * The subject of a node:https (or node:http2 secure) request. Only a certificate the
 * handshake verified counts: `authorized` is false when the server did not insist.
 */
export function subjectOfHttpsRequest(request: Pick<IncomingMessage, "socket">): string {
  const socket = request.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function") {
    return ANONYMOUS_SUBJECT;
  }
  return commonNameOf(socket.getPeerCertificate());
}

function commonNameOf(certificate: PeerCertificate | undefined): string {
  // An absent certificate shows up as undefined or as an empty object.
  const commonName: unknown = certificate?.subject?.CN;
  if (typeof commonName === "string") return commonName;
  // A subject with several CNs is ambiguous: refuse to pick one.
  return ANONYMOUS_SUBJECT;
}
