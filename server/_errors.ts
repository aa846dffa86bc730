/**
 * The one place where domain errors become transport status: gRPC codes and HTTP statuses.
 * @module
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { RaftErrorCode } from "../raft/mod.ts";

/** The gRPC status and HTTP status one domain code maps to. */
type Statuses = { grpc: GrpcStatus; http: number };

/**
 * Every code raft/ can raise, mapped on purpose: a new code fails to compile here until it is
 * given a status. Codes a client should retry (no leader yet, a leader moving, a membership
 * change in progress) are UNAVAILABLE / 503 and carry a retry hint and the leader if known.
 */
const byRaftCode: Record<RaftErrorCode, Statuses> = {
  NOT_LEADER: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  NO_LEADER: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  CHANGE_PENDING: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  TRANSFER_IN_PROGRESS: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  INVALID_CHANGE: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  OVERLOADED: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  TOO_LARGE: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413 },
  // Appended but not seen committed in time: it may still commit, so not a plain failure.
  UNKNOWN_OUTCOME: { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504 },
  // This node's disk failed and it stopped (fail-stop); nothing was appended: another node
  // can serve, so a client retries elsewhere. Not INTERNAL: the node is out, not confused.
  STORAGE_FAILED: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
};

/** A server-side failure with a domain code, a gRPC status and an HTTP status. */
export class ServiceError extends Error {
  /** Domain code ("OFFSET_OUT_OF_RANGE", "TOO_LARGE", …). */
  readonly code: string;
  /** The gRPC status the code maps to. */
  readonly grpcStatus: GrpcStatus;
  /** The HTTP status the code maps to. */
  readonly httpStatus: number;
  /** Use {@linkcode serviceError} or {@linkcode toServiceError}. */
  constructor(
    code: string,
    message: string,
    statuses: { grpc: GrpcStatus; http: number },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ServiceError";
    this.code = code;
    this.grpcStatus = statuses.grpc;
    this.httpStatus = statuses.http;
  }
}

const byCode: Record<string, Statuses> = {
  ...byRaftCode,
  OFFSET_OUT_OF_RANGE: { grpc: GrpcStatus.OUT_OF_RANGE, http: 404 },
  TOO_LARGE: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413 },
  INVALID_ARGUMENT: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  CORRUPT: { grpc: GrpcStatus.DATA_LOSS, http: 500 },
  PERMISSION_DENIED: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403 },
  CLOSED: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  UNAVAILABLE: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  NOT_FOUND: { grpc: GrpcStatus.NOT_FOUND, http: 404 },
  // A producer's batch out of order, older than the deduplication window, or changed on retry.
  OUT_OF_SEQUENCE: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  METHOD_NOT_ALLOWED: { grpc: GrpcStatus.UNIMPLEMENTED, http: 405 },
  // The client went away mid-request: its event, not a server failure (nginx's 499).
  CLIENT_CLOSED: { grpc: GrpcStatus.CANCELLED, http: 499 },
};

/** Builds a {@linkcode ServiceError} for a known domain code. */
export function serviceError(code: keyof typeof byCode, message: string): ServiceError {
  const statuses = byCode[code] ?? { grpc: GrpcStatus.INTERNAL, http: 500 };
  return new ServiceError(code, message, statuses);
}

/** Maps anything thrown below the server to a {@linkcode ServiceError}. */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const code = typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : "INTERNAL";
  const message = error instanceof Error ? error.message : String(error);
  const statuses = byCode[code] ?? { grpc: GrpcStatus.INTERNAL, http: 500 };
  return new ServiceError(code, message, statuses, { cause: error });
}

/** The gRPC status name for `code` ("OUT_OF_RANGE"), for observers. */
export function grpcStatusName(code: GrpcStatus): string {
  return GrpcStatus[code] ?? String(code);
}

/**
 * The error to report for an offset outside the readable range; a `bigint` offset (one above
 * 2^53 from the wire) is quoted exactly.
 */
export function outOfRange(offset: number | bigint, first: number, next: number): ServiceError {
  const range = first === next
    ? `the log is empty (the next offset is ${next})`
    : `the log holds offsets ${first} to ${next - 1}`;
  return serviceError("OFFSET_OUT_OF_RANGE", `Cannot read offset ${offset}: ${range}`);
}

/** Whether a client should retry `error` after a moment (and may be told the leader). */
export function isRetryable(error: ServiceError): boolean {
  return error.grpcStatus === GrpcStatus.UNAVAILABLE;
}
