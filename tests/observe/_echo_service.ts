/** A one-method gRPC service with raw-bytes messages, so the tracing test needs no .proto. */

import { Buffer } from "node:buffer";
import type { ServiceDefinition } from "@grpc/grpc-js";

const identity = (bytes: Uint8Array) => Buffer.from(bytes);

/** `/strand.test.Echo/Echo`: unary, bytes in, bytes out. */
export const echoService: ServiceDefinition = {
  echo: {
    path: "/strand.test.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
