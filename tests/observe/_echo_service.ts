/** A small gRPC service with raw-bytes messages, so the tracing test needs no .proto. */

import { Buffer } from "node:buffer";
import type { ServiceDefinition } from "@grpc/grpc-js";

const identity = (bytes: Uint8Array) => Buffer.from(bytes);

function method(name: string, responseStream: boolean) {
  return {
    path: `/strand.test.Echo/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** `Echo` (unary), `Fail` (unary, always INTERNAL), `Tail` (server streaming, two messages). */
export const echoService: ServiceDefinition = {
  echo: method("Echo", false),
  fail: method("Fail", false),
  tail: method("Tail", true),
};
