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
import { status as GrpcStatus } from "@grpc/grpc-js";
import type {
  ConsumeRequest,
  ConsumeResponse,
  GetServersResponse,
  ProduceRequest,
  ProduceResponse,
} from "../proto/mod.ts";
import type { ServiceContext } from "./_context.ts";
import { grpcStatusName, outOfRange, serviceError, toServiceError } from "./_errors.ts";
import { toRecordMessage, valuesOf } from "./_grpc_codec.ts";
import { pipelineProduce, streamRecords } from "./_grpc_stream.ts";

/** The client certificate's common name, or "" without mutual TLS. */
export function subjectOf(call: Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">): string {
  const name = call.getAuthContext().sslPeerCertificate?.subject?.CN ?? "";
  return Array.isArray(name) ? name.join(",") : name;
}

function observe(ctx: ServiceContext, method: string, started: number, status: GrpcStatus) {
  const durationMs = performance.now() - started;
  ctx.observe({ transport: "grpc", method, status: grpcStatusName(status), durationMs });
}

async function unary<Response>(
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
    callback({ code: failure.grpcStatus, details: failure.message });
    observe(ctx, method, started, failure.grpcStatus);
  }
}

async function produce(
  ctx: ServiceContext,
  call: ServerUnaryCall<ProduceRequest, ProduceResponse>,
): Promise<ProduceResponse> {
  await ctx.admit(subjectOf(call), "produce");
  const values = valuesOf(call.request);
  const { baseOffset } = await ctx.log.append(values);
  return { offset: baseOffset, count: values.length };
}

async function consume(
  ctx: ServiceContext,
  call: ServerUnaryCall<ConsumeRequest, ConsumeResponse>,
): Promise<ConsumeResponse> {
  await ctx.admit(subjectOf(call), "consume");
  const offset = reachableOffset(ctx, call.request);
  const first = ctx.log.firstOffset();
  const next = ctx.log.nextOffset();
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
    await streamRecords(ctx, call, stop.signal);
    if (cancelled) status = GrpcStatus.CANCELLED;
    else if (ctx.closing) throw serviceError("UNAVAILABLE", "The server is shutting down");
    else call.end();
  } catch (error) {
    const failure = toServiceError(error);
    status = failure.grpcStatus;
    if (!cancelled) call.emit("error", { code: status, details: failure.message });
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
