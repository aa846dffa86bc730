/**
 * `strand.admin.v1.Admin`: the operators' service (status, member removal, leadership
 * transfer), beside the book's `log.v1.Log`, which stays unchanged for old clients. Its
 * messages are JSON objects in UTF-8 (a status grows fields often; JSON keeps old and new
 * nodes and tools compatible without a schema step). A body that is not a JSON object
 * decodes as `{}` with `malformed` set, and the handler refuses it.
 * @module
 */
import type { ServiceDefinition } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes an admin message. */
export function encodeAdminMessage(message: unknown): Buffer {
  return Buffer.from(encoder.encode(JSON.stringify(message ?? {})));
}

/** Decodes an admin message; anything but a JSON object becomes `{ malformed: reason }`. */
export function decodeAdminMessage(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) return {};
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
    return { malformed: "the message is not a JSON object" };
  } catch (error) {
    return { malformed: error instanceof Error ? error.message : String(error) };
  }
}

function adminMethod(name: string) {
  return {
    path: `/strand.admin.v1.Admin/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeAdminMessage,
    requestDeserialize: decodeAdminMessage,
    responseSerialize: encodeAdminMessage,
    responseDeserialize: decodeAdminMessage,
  };
}

/** grpc-js definition of `strand.admin.v1.Admin` (JSON messages). */
export const adminService: ServiceDefinition = {
  status: adminMethod("Status"),
  clusterStatus: adminMethod("ClusterStatus"),
  removeMember: adminMethod("RemoveMember"),
  transferLeadership: adminMethod("TransferLeadership"),
};
