/**
 * The operators' API: `strand.admin.v1.Admin` over gRPC and `GET /v1/status`,
 * `GET /v1/cluster` over HTTP. Reading status needs `consume` or `admin` in the ACL; changing
 * the cluster needs `admin`. Refusals map to deliberate statuses (table below).
 * @module
 */
import {
  type sendUnaryData,
  type ServerUnaryCall,
  status as GrpcStatus,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ServiceError, serviceError } from "./_errors.ts";
import { subjectOf, unary } from "./_grpc.ts";
import type { Service } from "./_service.ts";
import type { AdminHooks, AdminOutcome, AdminRefusalCode } from "./_types.ts";

type Statuses = { grpc: GrpcStatus; http: number };

/**
 * Every refusal, mapped on purpose. Retryable ones (no leader, another change under way,
 * asked on a follower) are UNAVAILABLE and carry the leader in trailing metadata, so a client
 * can ask the leader; the request itself being wrong is NOT_FOUND / FAILED_PRECONDITION.
 */
const byRefusal: Record<AdminRefusalCode, Statuses> = {
  NOT_LEADER: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  NO_LEADER: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  CHANGE_PENDING: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  TRANSFER_IN_PROGRESS: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  UNKNOWN_OUTCOME: { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504 },
  NOT_MEMBER: { grpc: GrpcStatus.NOT_FOUND, http: 404 },
  MEMBER_ALIVE: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  INVALID_CHANGE: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  NOT_CLUSTERED: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  INVALID_ARGUMENT: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  OVERLOADED: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  TOO_LARGE: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413 },
  STORAGE_FAILED: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
};

/** The error for a refused admin action. */
export function adminError(outcome: Extract<AdminOutcome, { done: false }>): ServiceError {
  return new ServiceError(outcome.code, outcome.message, byRefusal[outcome.code]);
}

function hooksOf(service: Service): AdminHooks {
  if (service.admin === null) throw serviceError("UNAVAILABLE", "The node is still starting");
  return service.admin;
}

/** Admits a status reader: `consume` or `admin` in the ACL. */
export async function admitStatus(service: Service, subject: string): Promise<void> {
  const ctx = service.context;
  if (ctx.closing) throw serviceError("UNAVAILABLE", "The server is shutting down");
  if (await ctx.authorize(subject, "consume")) return;
  if (await ctx.authorize(subject, "admin")) return;
  const who = subject === "" ? "an anonymous client" : `"${subject}"`;
  throw serviceError(
    "PERMISSION_DENIED",
    `Cannot read the status: ${who} may neither consume nor admin`,
  );
}

function refuseMalformed(request: Record<string, unknown>): void {
  if (typeof request.malformed === "string") {
    throw serviceError("INVALID_ARGUMENT", `Malformed admin request: ${request.malformed}`);
  }
}

async function settle(outcome: Promise<AdminOutcome>): Promise<Record<string, unknown>> {
  const done = await outcome;
  if (!done.done) throw adminError(done);
  return done.result;
}

type Call = ServerUnaryCall<Record<string, unknown>, unknown>;
type Reply = sendUnaryData<Record<string, unknown>>;

/** Handlers of `strand.admin.v1.Admin`. */
export function adminHandlers(service: Service): UntypedServiceImplementation {
  const ctx = service.context;
  return {
    status: (call: Call, callback: Reply) =>
      unary(ctx, "Admin.Status", callback, async () => {
        refuseMalformed(call.request);
        await admitStatus(service, subjectOf(call));
        return hooksOf(service).status();
      }),
    clusterStatus: (call: Call, callback: Reply) =>
      unary(ctx, "Admin.ClusterStatus", callback, async () => {
        refuseMalformed(call.request);
        await admitStatus(service, subjectOf(call));
        return await hooksOf(service).clusterView();
      }),
    removeMember: (call: Call, callback: Reply) =>
      unary(ctx, "Admin.RemoveMember", callback, async () => {
        refuseMalformed(call.request);
        await ctx.admit(subjectOf(call), "admin");
        const name = call.request.name;
        if (typeof name !== "string" || name === "") {
          throw serviceError("INVALID_ARGUMENT", 'Cannot remove a member: "name" is missing');
        }
        return await settle(hooksOf(service).removeMember(name));
      }),
    transferLeadership: (call: Call, callback: Reply) =>
      unary(ctx, "Admin.TransferLeadership", callback, async () => {
        refuseMalformed(call.request);
        await ctx.admit(subjectOf(call), "admin");
        const to = call.request.to;
        if (to !== undefined && to !== null && typeof to !== "string") {
          throw serviceError("INVALID_ARGUMENT", 'Cannot transfer leadership: "to" is a name');
        }
        return await settle(hooksOf(service).transferLeadership(to || null));
      }),
  };
}

/** `GET /v1/status`'s body: this node's status. */
export async function httpStatus(service: Service, subject: string): Promise<unknown> {
  await admitStatus(service, subject);
  return hooksOf(service).status();
}

/** `GET /v1/cluster`'s body: every member's status. */
export async function httpCluster(service: Service, subject: string): Promise<unknown> {
  await admitStatus(service, subject);
  return await hooksOf(service).clusterView();
}
