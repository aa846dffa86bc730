/**
 * The book's secure cluster for the e2e tests: every node presents the same `root`
 * certificate to clients and peers (mutual TLS against one CA), the book's ACL, and gossip
 * sealed with a shared key. Files are copied into each data dir (serve reads only its own).
 */
import { Buffer } from "node:buffer";
import { credentials } from "@grpc/grpc-js";
import { generateGossipKey } from "../../discovery/mod.ts";
import type { LogClientOptions } from "../../client/mod.ts";
import { BOOK_MODEL_FILE, BOOK_POLICY_FILE, makeCertificates } from "../security/_helpers.ts";

/** What `TestCluster.start` needs for a secure cluster, and the cleanup of its certificates. */
export interface SecureSetup {
  /** Copies the certificates, ACL and gossip key into a data dir; returns the serve flags. */
  prepare(dataDir: string): Promise<string[]>;
  /** A client presenting the `root` certificate, verifying nodes as `localhost`. */
  clientOptions: LogClientOptions;
  /** Removes the certificates. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Makes a CA, the shared `root` certificate and a gossip key in a temp dir. */
export async function secureSetup(): Promise<SecureSetup> {
  const certDir = await Deno.makeTempDir({ prefix: "strand-cluster-tls-" });
  const files = await makeCertificates(certDir, [], { nodeName: "root" });
  const read = (path: string) => Buffer.from(Deno.readFileSync(path));
  const gossipKey = generateGossipKey();
  return {
    async prepare(dataDir: string) {
      const copy = async (from: string, name: string) => {
        await Deno.copyFile(from, `${dataDir}/${name}`);
        return `${dataDir}/${name}`;
      };
      const [ca, cert, key] = [
        await copy(files.caFile, "ca.pem"),
        await copy(files.nodeCertFile, "root.pem"),
        await copy(files.nodeKeyFile, "root-key.pem"),
      ];
      const model = await copy(BOOK_MODEL_FILE, "model.conf");
      const policy = await copy(BOOK_POLICY_FILE, "policy.csv");
      await Deno.writeTextFile(`${dataDir}/gossip.key`, gossipKey);
      return [
        ...["--server-tls-cert-file", cert, "--server-tls-key-file", key],
        ...["--server-tls-ca-file", ca],
        ...["--peer-tls-cert-file", cert, "--peer-tls-key-file", key, "--peer-tls-ca-file", ca],
        ...["--acl-model-file", model, "--acl-policy-file", policy],
        ...["--gossip-key-file", `${dataDir}/gossip.key`],
      ];
    },
    clientOptions: {
      credentials: credentials.createSsl(
        read(files.caFile),
        read(files.nodeKeyFile),
        read(files.nodeCertFile),
      ),
      channelOptions: {
        "grpc.ssl_target_name_override": "localhost",
        "grpc.default_authority": "localhost",
      },
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(certDir, { recursive: true });
    },
  };
}
