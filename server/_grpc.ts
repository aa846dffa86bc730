/**
 * The `log.v1.Log` gRPC handlers.
 * @module
 */
import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { Metadata, status as GrpcStatus } from "@grpc/grpc-js";
import type {
  ConsumeRequest,
  ConsumeResponse,
  GetServersResponse,
  ProduceRequest,
  ProduceResponse,
} from "../proto/mod.ts";
import type { ServiceContext } from "./_context.ts";
import {
  grpcStatusName,
  isRetryable,
  outOfRange,
  type ServiceError,
  serviceError,
  toServiceError,
} from "./_errors.ts";
import { FORWARDED_METADATA_KEY, LEADER_ADDR_KEY, LEADER_ID_KEY } from "./_types.ts";
import { produceResponse, producerOf, toRecordMessage, valuesOf } from "./_grpc_codec.ts";
import { pipelineProduce, streamRecords } from "./_grpc_stream.ts";
import { isMalformed, malformedLogOf, producePath, refuseMalformed } from "./_grpc_malformed.ts";

/** The client certificate's common name, or "" without mutual TLS. */
export function subjectOf(call: Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">): string {
  const name = call.getAuthContext().sslPeerCertificate?.subject?.CN ?? "";
  return Array.isArray(name) ? name.join(",") : name;
}

function observe(ctx: ServiceContext, method: string, started: number, status: GrpcStatus) {
  const durationMs = performance.now() - started;
  ctx.observe({ transport: "grpc", method, status: grpcStatusName(status), durationMs });
}

/** Runs a unary handler: answers, maps failures (with leader metadata), observes. */
export async function unary<Response>(
  ctx: ServiceContext,
  method: string,
  callback: sendUnaryData<Response>,
  work: () => Promise<Response>,
): Promise<void> {
  const started = performance.now();
  try {
    callback(null, await work());
    observe(ctx, method, started, GrpcStatus.OK);
  } catch (error) {
    const failure = toServiceError(error);
    if (failure.httpStatus >= 500 && failure.grpcStatus !== GrpcStatus.UNAVAILABLE) {
      ctx.logger.error(`${method} failed`, { error: String(error) });
    }
    callback({
      code: failure.grpcStatus,
      details: failure.message,
      metadata: leaderMetadata(ctx, failure),
    });
    observe(ctx, method, started, failure.grpcStatus);
  }
}

/**
 * Trailing metadata naming the leader, on failures worth retrying in a cluster (the client
 * may go to the leader directly), and a retry hint.
 */
export function leaderMetadata(ctx: ServiceContext, failure: ServiceError): Metadata {
  const metadata = new Metadata();
  if (!isRetryable(failure) || ctx.cluster === null) return metadata;
  const leader = ctx.cluster.leader();
  if (leader !== null) {
    metadata.set(LEADER_ID_KEY, leader.id);
    metadata.set(LEADER_ADDR_KEY, leader.rpcAddr);
  }
  return metadata;
}

/**
 * The end of what this node may report as written: in a cluster, before saying "not written
 * yet", confirm with the leader (ReadIndex) that nothing more was committed elsewhere.
 */
export async function confirmedEnd(ctx: ServiceContext, offset: number): Promise<number> {
  const next = ctx.log.nextOffset();
  if (offset < next || ctx.cluster === null) return next;
  await ctx.cluster.readBarrier();
  return ctx.log.nextOffset();
}

async function produce(
  ctx: ServiceContext,
  call: ServerUnaryCall<ProduceRequest, ProduceResponse>,
): Promise<ProduceResponse> {
  if (isMalformed(call.request)) { // checked here: Produce skips the malformed interceptor
    const log = malformedLogOf(ctx);
    throw serviceError("INVALID_ARGUMENT", refuseMalformed(ctx, log, producePath, call.request));
  }
  await ctx.admit(subjectOf(call), "produce");
  const values = valuesOf(call.request);
  const producer = producerOf(call.request);
  const forwarded = ctx.cluster !== null && call.metadata.get(FORWARDED_METADATA_KEY).length > 0;
  const ack = forwarded
    ? await ctx.cluster!.appendHere(values, producer)
    : await ctx.log.append(values, producer);
  return produceResponse(ack, values.length);
}

async function consume(
  ctx: ServiceContext,
  call: ServerUnaryCall<ConsumeRequest, ConsumeResponse>,
): Promise<ConsumeResponse> {
  await ctx.admit(subjectOf(call), "consume");
  const offset = reachableOffset(ctx, call.request);
  const first = ctx.log.firstOffset();
  const next = await confirmedEnd(ctx, offset);
  if (offset < first || offset >= next) throw outOfRange(offset, first, next);
  return { record: toRecordMessage(ctx.log.read(offset)) };
}

/**
 * The request's offset; one above 2^53, which no log reaches, is OFFSET_OUT_OF_RANGE quoting
 * the offset as sent (the decoder keeps it exactly), never a rounded number.
 */
function reachableOffset(ctx: ServiceContext, request: ConsumeRequest): number {
  const offset = Number(request.offset ?? 0);
  if (Number.isSafeInteger(offset)) return offset;
  const exact = request.exactOffset ?? BigInt(Math.round(offset));
  throw outOfRange(exact, ctx.log.firstOffset(), ctx.log.nextOffset());
}

async function consumeStream(
  ctx: ServiceContext,
  call: ServerWritableStream<ConsumeRequest, ConsumeResponse>,
): Promise<void> {
  const started = performance.now();
  const stop = new AbortController();
  let cancelled = false;
  const onCancel = () => {
    cancelled = true;
    stop.abort();
  };
  const onShutdown = () => stop.abort();
  call.on("cancelled", onCancel);
  ctx.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
  let status: GrpcStatus = GrpcStatus.OK;
  try {
    await ctx.admit(subjectOf(call), "consume");
    reachableOffset(ctx, call.request);
    // A stream that ends at the end must see every record acknowledged before it started.
    if (call.request.stopAtEnd) await confirmedEnd(ctx, Infinity);
    await streamRecords(ctx, call, stop.signal);
    if (cancelled) status = GrpcStatus.CANCELLED;
    else if (ctx.closing) throw serviceError("UNAVAILABLE", "The server is shutting down");
    else call.end();
  } catch (error) {
    const failure = toServiceError(error);
    status = failure.grpcStatus;
    if (!cancelled) {
      const metadata = leaderMetadata(ctx, failure);
      call.emit("error", { code: status, details: failure.message, metadata });
    }
  } finally {
    ctx.shutdownSignal.removeEventListener("abort", onShutdown);
    call.off("cancelled", onCancel);
    observe(ctx, "ConsumeStream", started, status);
  }
}

async function produceStream(
  ctx: ServiceContext,
  call: ServerDuplexStream<ProduceRequest, ProduceResponse>,
): Promise<void> {
  const started = performance.now();
  let finished = false;
  const onEnd = (error: unknown) => {
    if (finished) return;
    finished = true;
    const status = error === null
      ? GrpcStatus.OK
      : error === "CANCELLED"
      ? GrpcStatus.CANCELLED
      : toServiceError(error).grpcStatus;
    observe(ctx, "ProduceStream", started, status);
  };
  try {
    await ctx.admit(subjectOf(call), "produce");
  } catch (error) {
    const failure = toServiceError(error);
    call.emit("error", { code: failure.grpcStatus, details: failure.message });
    onEnd(failure);
    return;
  }
  pipelineProduce(ctx, call, onEnd);
}

/**
 * The cluster's addresses are for clients of the log: a subject the ACL lets neither produce
 * nor consume (a certificate the CA signed for something else) is refused them.
 */
async function getServers(
  ctx: ServiceContext,
  call: Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">,
): Promise<GetServersResponse> {
  if (ctx.closing) throw serviceError("UNAVAILABLE", "The server is shutting down");
  const subject = subjectOf(call);
  if (!(await ctx.authorize(subject, "consume")) && !(await ctx.authorize(subject, "produce"))) {
    const who = subject === "" ? "an anonymous client" : `"${subject}"`;
    throw serviceError(
      "PERMISSION_DENIED",
      `Cannot list the servers: ${who} may neither produce nor consume`,
    );
  }
  const servers = await ctx.servers();
  return { servers: servers.map((server) => ({ ...server })) };
}

/** grpc-js handlers of `log.v1.Log` over `ctx`. */
export function logHandlers(ctx: ServiceContext): UntypedServiceImplementation {
  return {
    produce: (
      call: ServerUnaryCall<ProduceRequest, ProduceResponse>,
      callback: sendUnaryData<ProduceResponse>,
    ) => unary(ctx, "Produce", callback, () => produce(ctx, call)),
    consume: (
      call: ServerUnaryCall<ConsumeRequest, ConsumeResponse>,
      callback: sendUnaryData<ConsumeResponse>,
    ) => unary(ctx, "Consume", callback, () => consume(ctx, call)),
    getServers: (
      call: ServerUnaryCall<unknown, GetServersResponse>,
      callback: sendUnaryData<GetServersResponse>,
    ) => unary(ctx, "GetServers", callback, () => getServers(ctx, call)),
    consumeStream: (call: ServerWritableStream<ConsumeRequest, ConsumeResponse>) =>
      consumeStream(ctx, call),
    produceStream: (call: ServerDuplexStream<ProduceRequest, ProduceResponse>) =>
      produceStream(ctx, call),
  };
}
