/** Assertions and fixtures shared by the security tests. */
import { runCerts } from "../../cli/certs.ts";
import {
  type ClientTlsMaterial,
  type ReloadOutcome,
  type SecurityFiles,
  SecurityState,
} from "../../security/mod.ts";

/** Throws unless `condition` holds. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Throws unless `actual` and `expected` are equal (deep, via JSON). */
export function assertEquals<T>(actual: T, expected: T, message = ""): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}${message ? ": " : ""}expected ${e}, got ${a}`);
}

/** Runs `run`, expects it to throw, and returns the error for further checks. */
export async function assertRejects(run: () => unknown, message = "expected a rejection") {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error(message);
}

/** The book's ACL model and policy, unchanged. */
export const BOOK_MODEL_FILE = new URL("./testdata/model.conf", import.meta.url).pathname;
export const BOOK_POLICY_FILE = new URL("./testdata/policy.csv", import.meta.url).pathname;

/** Paths of the certificates {@linkcode makeCertificates} writes. */
export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly nodeCertFile: string;
  readonly nodeKeyFile: string;
  client(name: string): { certFile: string; keyFile: string };
}

/**
 * Creates, with `strand certs` itself, a CA, a node certificate for localhost/127.0.0.1
 * and client certificates for each subject, in `dir`.
 */
export async function makeCertificates(
  dir: string,
  subjects: readonly string[] = ["root", "nobody"],
  extra: { nodeName?: string } = {},
): Promise<TestCertificates> {
  const nodeName = extra.nodeName ?? "node-1";
  await certs(["ca", "--dir", dir]);
  await certs([
    "node",
    "--dir",
    dir,
    "--name",
    nodeName,
    "--dns",
    "localhost",
    "--ip",
    "127.0.0.1",
  ]);
  for (const subject of subjects) await certs(["client", "--dir", dir, "--subject", subject]);
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    nodeCertFile: `${dir}/${nodeName}.pem`,
    nodeKeyFile: `${dir}/${nodeName}-key.pem`,
    client: (name) => ({ certFile: `${dir}/${name}.pem`, keyFile: `${dir}/${name}-key.pem` }),
  };
}

/** The client TLS material for `subject` (or CA-only, anonymous, when omitted). */
export async function clientMaterial(
  files: TestCertificates,
  subject?: string,
): Promise<ClientTlsMaterial> {
  const caPem = await Deno.readTextFile(files.caFile);
  if (subject === undefined) return { caPem };
  const { certFile, keyFile } = files.client(subject);
  return {
    caPem,
    certPem: await Deno.readTextFile(certFile),
    keyPem: await Deno.readTextFile(keyFile),
  };
}

/** Server security files: TLS from `files`, client certificates if `mutual`, the book ACL if `acl`. */
export function serverFiles(
  files: TestCertificates,
  options: { mutual: boolean; acl: boolean },
): SecurityFiles {
  const tls = { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile };
  return {
    serverTls: options.mutual ? { ...tls, caFile: files.caFile } : tls,
    ...(options.acl ? { acl: { modelFile: BOOK_MODEL_FILE, policyFile: BOOK_POLICY_FILE } } : {}),
  };
}

/**
 * Loads security per {@linkcode serverFiles}, starts a server on it with `start`, runs `run`
 * against its port, then stops the server and closes the security state.
 */
export async function withServer(
  start: (security: SecurityState) => Promise<{ port: number; stop(): Promise<void> }>,
  files: TestCertificates,
  options: { mutual: boolean; acl: boolean },
  run: (port: number) => Promise<void>,
): Promise<void> {
  const security = await SecurityState.load(serverFiles(files, options));
  const server = await start(security);
  try {
    await run(server.port);
  } finally {
    await server.stop();
    await security.close();
  }
}

/**
 * Makes a new CA in `otherDir` and re-issues node-1 (localhost, plus 127.0.0.1 if `ip`)
 * in `dir` from it, overwriting the node certificate and key in place: a rotation.
 */
export async function rotateToOtherCa(
  dir: string,
  otherDir: string,
  options: { ip?: boolean } = {},
): Promise<void> {
  await certs(["ca", "--dir", otherDir]);
  await certs([
    "node",
    "--dir",
    dir,
    "--name",
    "node-1",
    "--dns",
    "localhost",
    ...(options.ip ? ["--ip", "127.0.0.1"] : []),
    "--ca-cert-file",
    `${otherDir}/ca.pem`,
    "--ca-key-file",
    `${otherDir}/ca-key.pem`,
  ]);
}

/** Runs a gRPC call, returning "ok" or the status code it failed with. */
export async function codeOf(run: () => Promise<unknown>): Promise<number | "ok"> {
  try {
    await run();
    return "ok";
  } catch (error) {
    return (error as { code: number }).code;
  }
}

/** Runs `strand certs` with its output silenced; throws unless it exits 0. */
export async function certs(args: string[]): Promise<void> {
  const code = await quietly(() => runCerts(args));
  if (code !== 0) throw new Error(`strand certs ${args.join(" ")} exited ${code}`);
}

/** Runs `run` with console.log/console.error silenced, returning its result. */
export async function quietly<T>(run: () => Promise<T>): Promise<T> {
  const { log, error } = console;
  console.log = () => {};
  console.error = () => {};
  try {
    return await run();
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A temporary directory removed by the returned dispose function. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "strand-security-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** A logger that records lines, for asserting that refusals are logged. */
export function recordingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  return {
    lines,
    info(message: string, fields?: Record<string, unknown>) {
      lines.push(
        fields === undefined ? { level: "info", message } : { level: "info", message, fields },
      );
    },
    error(message: string, fields?: Record<string, unknown>) {
      lines.push(
        fields === undefined ? { level: "error", message } : { level: "error", message, fields },
      );
    },
  };
}

/** The subset of `SecurityState` that reload waits need. */
interface Reloadable {
  onReload(listener: (outcomes: readonly ReloadOutcome[]) => void): () => void;
}

/**
 * Resolves with the first reload outcome matching `wanted`; rejects after `timeoutMs`.
 * Waits on the reload event, never on a fixed sleep.
 */
export function nextReload(
  security: Reloadable,
  wanted: (outcome: ReloadOutcome) => boolean,
  timeoutMs = 15_000,
): Promise<ReloadOutcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching reload within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = security.onReload((outcomes) => {
      const match = outcomes.find(wanted);
      if (match === undefined) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(match);
    });
  });
}
