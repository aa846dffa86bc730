/**
 * A plain grpc-js client built at run time from the book's proto (proglog api/v1/log.proto),
 * to prove proglog's clients work against Strand unchanged.
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { Buffer } from "node:buffer";

const bookProto = `
syntax = "proto3";
package log.v1;
message Record { bytes value = 1; uint64 offset = 2; uint64 term = 3; uint32 type = 4; }
message ProduceRequest { Record record = 1; }
message ProduceResponse { uint64 offset = 1; }
message ConsumeRequest { uint64 offset = 1; }
message ConsumeResponse { Record record = 2; }
message GetServersRequest {}
message GetServersResponse { repeated Server servers = 1; }
message Server { string id = 1; string rpc_addr = 2; bool is_leader = 3; }
service Log {
  rpc Produce(ProduceRequest) returns (ProduceResponse) {}
  rpc Consume(ConsumeRequest) returns (ConsumeResponse) {}
  rpc ConsumeStream(ConsumeRequest) returns (stream ConsumeResponse) {}
  rpc ProduceStream(stream ProduceRequest) returns (stream ProduceResponse) {}
  rpc GetServers(GetServersRequest) returns (GetServersResponse) {}
}`;

const root = protobuf.parse(bookProto, { keepCase: true }).root;
const service = root.lookupService("log.v1.Log");

function definition(): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    const request = root.lookupType(method.requestType);
    const response = root.lookupType(method.responseType);
    const toObject = (type: protobuf.Type) => (bytes: Buffer) =>
      type.toObject(type.decode(bytes), { longs: Number, defaults: true });
    const encode = (type: protobuf.Type) => (value: object) =>
      Buffer.from(type.encode(type.fromObject(value)).finish());
    out[method.name] = {
      path: `/log.v1.Log/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: encode(request),
      requestDeserialize: toObject(request),
      responseSerialize: encode(response),
      responseDeserialize: toObject(response),
    };
  }
  return out as grpc.ServiceDefinition;
}

// deno-lint-ignore no-explicit-any
export type BookClient = grpc.Client & Record<string, (...args: any[]) => any>;

/** A generic client of the book's `log.v1.Log` (methods named as in the proto: Produce…). */
export function bookClient(address: string): BookClient {
  const Stub = grpc.makeGenericClientConstructor(definition(), "Log");
  return new Stub(address, grpc.credentials.createInsecure()) as unknown as BookClient;
}

/** Calls a unary method of the book client. */
export function unary<T>(client: BookClient, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method]!(request, (error: unknown, value: T) => error ? reject(error) : resolve(value));
  });
}
