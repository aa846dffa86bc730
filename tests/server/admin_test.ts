/**
 * The Admin service's ACL and status mapping: reading status needs consume or admin, changing
 * the cluster needs admin (a certificate the ACL lets only produce and consume is denied);
 * each refusal maps to its deliberate gRPC code; a malformed body is INVALID_ARGUMENT.
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type ServiceError as GrpcError,
  status,
} from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { adminService } from "../../proto/mod.ts";
import { loadClientGrpcSecurity, SecurityState } from "../../security/mod.ts";
import {
  type AdminHooks,
  type AdminOutcome,
  type AdminRefusalCode,
  Service,
  startGrpcServer,
} from "../../server/mod.ts";
import {
  BOOK_MODEL_FILE,
  BOOK_POLICY_FILE,
  makeCertificates,
  tempDir,
} from "../security/_helpers.ts";
import { assertEquals } from "./_assert.ts";
import { startHarness } from "./_harness.ts";
import { MemoryLog } from "./_memory_log.ts";

const Admin = makeGenericClientConstructor(adminService, "Admin");

function admin(address: string, creds: ChannelCredentials, options: ChannelOptions = {}) {
  const stub = new Admin(address, creds, options) as unknown as
    & Record<
      string,
      (
        request: unknown,
        metadata: Metadata,
        callback: (error: GrpcError | null, reply?: Record<string, unknown>) => void,
      ) => void
    >
    & { close(): void };
  return {
    call(method: string, request: unknown): Promise<Record<string, unknown>> {
      return new Promise((resolve, reject) =>
        stub[method]!(
          request,
          new Metadata(),
          (error, reply) => error ? reject(error) : resolve(reply!),
        )
      );
    },
    async code(method: string, request: unknown): Promise<number> {
      try {
        await this.call(method, request);
        return status.OK;
      } catch (error) {
        return (error as GrpcError).code;
      }
    },
    close: () => stub.close(),
  };
}

function fakeHooks(outcome: AdminOutcome, calls: string[] = []): AdminHooks {
  return {
    status: () => ({ name: "node-1", role: "leader" }),
    clusterView: () => Promise.resolve({ nodes: [] }),
    removeMember: (name) => {
      calls.push(`remove ${name}`);
      return Promise.resolve(outcome);
    },
    transferLeadership: (to) => {
      calls.push(`transfer ${to}`);
      return Promise.resolve(outcome);
    },
  };
}

Deno.test("Admin under mutual TLS and proglog's ACL: root reads status, may not change the cluster", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path);
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
    acl: { modelFile: BOOK_MODEL_FILE, policyFile: BOOK_POLICY_FILE },
  });
  const calls: string[] = [];
  const service = new Service({
    log: new MemoryLog(),
    authorize: (subject, action) => security.can(subject, action),
  }, { nodeId: "node-1" });
  service.admin = fakeHooks({ done: true, result: {} }, calls);
  const rpc = await startGrpcServer(service, {
    host: "127.0.0.1",
    port: 0,
    credentials: security.grpcServerCredentials(),
  });
  service.setServing();
  const clientOf = async (subject: string) => {
    const client = await loadClientGrpcSecurity({
      "tls-ca-file": files.caFile,
      "tls-cert-file": files.client(subject).certFile,
      "tls-key-file": files.client(subject).keyFile,
    });
    return admin(`localhost:${rpc.port}`, client.credentials, client.channelOptions);
  };
  const root = await clientOf("root");
  const nobody = await clientOf("nobody");
  try {
    assertEquals((await root.call("status", {})).name, "node-1");
    assertEquals(await root.code("clusterStatus", {}), status.OK);
    assertEquals(await root.code("removeMember", { name: "n3" }), status.PERMISSION_DENIED);
    assertEquals(await root.code("transferLeadership", {}), status.PERMISSION_DENIED);
    assertEquals(await nobody.code("status", {}), status.PERMISSION_DENIED);
    assertEquals(calls, [], "a denied change never reaches the cluster");
    const denied = await root.call("removeMember", { name: "n3" }).catch((e) => e as GrpcError);
    assertEquals(denied.details, 'Cannot admin: "root" is not allowed to');
  } finally {
    root.close();
    nobody.close();
    service.beginShutdown();
    await rpc.close(0);
    await security.close();
  }
});

Deno.test("GET /v1/status: 403 for a subject that may only produce, 200 with consume", async () => {
  for (const [allowed, expected] of [[["produce"], 403], [["consume"], 200]] as const) {
    await using h = await startHarness({
      authorize: (_subject, action) => (allowed as readonly string[]).includes(action),
    });
    h.service.admin = fakeHooks({ done: true, result: {} });
    const response = await fetch(`${h.httpUrl}/v1/status`);
    await response.body?.cancel();
    assertEquals(response.status, expected, `allowed ${allowed}`);
  }
});

const expectedCodes: Record<AdminRefusalCode, number> = {
  NOT_LEADER: status.UNAVAILABLE,
  NO_LEADER: status.UNAVAILABLE,
  CHANGE_PENDING: status.UNAVAILABLE,
  TRANSFER_IN_PROGRESS: status.UNAVAILABLE,
  OVERLOADED: status.UNAVAILABLE,
  UNKNOWN_OUTCOME: status.DEADLINE_EXCEEDED,
  NOT_MEMBER: status.NOT_FOUND,
  MEMBER_ALIVE: status.FAILED_PRECONDITION,
  INVALID_CHANGE: status.FAILED_PRECONDITION,
  NOT_CLUSTERED: status.FAILED_PRECONDITION,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  TOO_LARGE: status.RESOURCE_EXHAUSTED,
  STORAGE_FAILED: status.UNAVAILABLE,
};

Deno.test("Admin refusals map to their gRPC codes; malformed requests are INVALID_ARGUMENT", async () => {
  await using h = await startHarness();
  const client = admin(`127.0.0.1:${h.grpc.port}`, credentials.createInsecure());
  try {
    for (const [code, expected] of Object.entries(expectedCodes)) {
      const outcome = { done: false, code, message: `refused: ${code}` } as AdminOutcome;
      h.service.admin = fakeHooks(outcome);
      assertEquals(await client.code("removeMember", { name: "n3" }), expected, code);
      assertEquals(await client.code("transferLeadership", { to: "n2" }), expected, code);
    }
    h.service.admin = fakeHooks({ done: true, result: { removed: "n3" } });
    assertEquals(await client.call("removeMember", { name: "n3" }), { removed: "n3" });
    assertEquals(await client.code("removeMember", {}), status.INVALID_ARGUMENT);
    assertEquals(await client.code("transferLeadership", { to: 7 }), status.INVALID_ARGUMENT);
    // Bytes that are not a JSON object.
    const raw = new Admin(`127.0.0.1:${h.grpc.port}`, credentials.createInsecure());
    const malformed = await new Promise<number>((resolve) =>
      raw.makeUnaryRequest(
        "/strand.admin.v1.Admin/Status",
        (value: Uint8Array) => Buffer.from(value),
        (bytes: Uint8Array) => bytes,
        new TextEncoder().encode("[1,2"),
        (error) => resolve(error?.code ?? status.OK),
      )
    );
    raw.close();
    assertEquals(malformed, status.INVALID_ARGUMENT);
  } finally {
    client.close();
  }
});
