/**
 * What the request decorators know about the request being served (who asked), kept in an
 * AsyncLocalStorage so the server's after-the-fact request event can be logged with it even
 * when tracing is off (OpenTelemetry's context is a no-op without OTEL_DENO).
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** Facts about the request being served. */
export interface RequestScope {
  /** The client certificate's common name; "" without mutual TLS. */
  readonly subject: string;
  /** A long-lived stream (never reported as slow). */
  readonly stream: boolean;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `work` with `scope` as the current request scope. */
export function runInRequestScope<T>(scope: RequestScope, work: () => T): T {
  return storage.run(scope, work);
}

/** The scope of the request being served, if any. */
export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

interface PeerCertificate {
  subject?: { CN?: string | string[] };
}

/** The common name of a peer certificate as grpc-js or node:tls report it ("" if none). */
export function commonNameOf(certificate: PeerCertificate | null | undefined): string {
  const name = certificate?.subject?.CN ?? "";
  return Array.isArray(name) ? name.join(",") : name;
}
