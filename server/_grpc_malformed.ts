/**
 * Requests whose bytes are not a valid protobuf message of the method's request type get
 * INVALID_ARGUMENT, are counted (`ServiceContext.malformedRequests`) and logged (rate
 * limited): grpc-js alone answers them INTERNAL "Error deserializing request", as if the
 * server had failed, and says nothing.
 *
 * How: the request deserializers return a marker instead of throwing, and a server
 * interceptor answers a marked message with the status before any handler sees it.
 * @module
 */
import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServiceDefinition,
  status as GrpcStatus,
} from "@grpc/grpc-js";
import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder } from "@grpc/grpc-js";
import type { ServiceContext } from "./_context.ts";
import { RateLimitedLog } from "./_conn_limits.ts";

const malformed = Symbol("malformed request");

interface Malformed {
  [malformed]: string;
}

/** Whether a decoded request is the marker of undecodable bytes. */
export function isMalformed(message: unknown): message is Malformed {
  return typeof message === "object" && message !== null && malformed in message;
}

/** `definition` with request deserializers that mark undecodable bytes instead of throwing. */
export function guardDeserializers(definition: ServiceDefinition): ServiceDefinition {
  const guarded: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Uint8Array) => {
        try {
          return decode(bytes as Parameters<typeof decode>[0]);
        } catch (error) {
          return { [malformed]: error instanceof Error ? error.message : String(error) };
        }
      },
    };
  }
  return guarded as ServiceDefinition;
}

/** Counts and logs (rate limited) a malformed request; returns the message for its status. */
export function refuseMalformed(
  ctx: ServiceContext,
  log: RateLimitedLog,
  path: string,
  message: Malformed,
): string {
  ctx.malformedRequests++;
  log.warn("malformed", "Refused a request that is no valid protobuf message", {
    method: path,
    error: message[malformed],
    refused: ctx.malformedRequests,
  });
  return `Cannot read the request to ${path}: its bytes are not a valid protobuf message ` +
    `of the request type (${message[malformed]}). Check that the client uses Strand's ` +
    "log.v1 protocol definitions";
}

/** Where Produce checks for the marker itself (its hot path skips the interceptor). */
export const producePath = "/log.v1.Log/Produce";
/** Where ProduceStream checks for the marker itself (its hot path skips the interceptor). */
export const produceStreamPath = "/log.v1.Log/ProduceStream";
/** The produce methods, which check their requests themselves (see the interceptor). */
const selfCheckedPaths: ReadonlySet<string> = new Set([producePath, produceStreamPath]);

const malformedLogs = new WeakMap<ServiceContext, RateLimitedLog>();

/** The one rate-limited log of malformed requests of a service. */
export function malformedLogOf(ctx: ServiceContext): RateLimitedLog {
  let log = malformedLogs.get(ctx);
  if (!log) malformedLogs.set(ctx, log = new RateLimitedLog(ctx.logger));
  return log;
}

/**
 * The interceptor that answers marked requests INVALID_ARGUMENT and counts them. Produce and
 * ProduceStream are left out: an interceptor costs every call and every message (objects
 * and a layer of callbacks per call), so their handlers check for the marker themselves.
 */
export function malformedRequestInterceptor(ctx: ServiceContext): ServerInterceptor {
  const log = malformedLogOf(ctx);
  return (method, call: ServerInterceptingCallInterface) => {
    if (selfCheckedPaths.has(method.path)) return call as ServerInterceptingCall;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMessage((message, next) => {
        if (!isMalformed(message)) return next(message);
        const details = refuseMalformed(ctx, log, method.path, message);
        call.sendStatus({ code: GrpcStatus.INVALID_ARGUMENT, details });
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
