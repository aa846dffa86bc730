import { status as GrpcStatus } from "@grpc/grpc-js";
import { RaftError, type RaftErrorCode } from "../../raft/mod.ts";
import { ServiceError } from "../../server/mod.ts";
import { toServiceError } from "../../server/_errors.ts";
import { assert, assertEquals } from "./_assert.ts";

/** Every code raft/ declares (the `satisfies` keeps this list complete at compile time). */
const codes = {
  NOT_LEADER: true,
  NO_LEADER: true,
  CHANGE_PENDING: true,
  TRANSFER_IN_PROGRESS: true,
  INVALID_CHANGE: true,
  OVERLOADED: true,
  TOO_LARGE: true,
  UNKNOWN_OUTCOME: true,
  STORAGE_FAILED: true,
} satisfies Record<RaftErrorCode, true>;

Deno.test("errors: every Raft error code maps to a deliberate status, never INTERNAL", () => {
  for (const code of Object.keys(codes) as RaftErrorCode[]) {
    const failure = toServiceError(new RaftError(code, `Cannot do it: ${code}`));
    assert(failure instanceof ServiceError);
    assert(failure.grpcStatus !== GrpcStatus.INTERNAL, `${code} maps to INTERNAL`);
    assert(failure.httpStatus !== 500, `${code} maps to HTTP 500`);
  }
  const noLeader = toServiceError(new RaftError("NO_LEADER", "Cannot append: no leader"));
  assertEquals([noLeader.grpcStatus, noLeader.httpStatus], [GrpcStatus.UNAVAILABLE, 503]);
  // A node whose disk failed is out: the client goes to another node (retryable), not INTERNAL.
  const failed = toServiceError(
    new RaftError("STORAGE_FAILED", "Cannot serve on node n1: its storage failed", null, {
      cause: new Error("EIO"),
    }),
  );
  assertEquals([failed.grpcStatus, failed.httpStatus], [GrpcStatus.UNAVAILABLE, 503]);
  assertEquals(failed.code, "STORAGE_FAILED");
});
