/**
 * Runs the security stack of a node (TLS + mTLS + ACL, gRPC and HTTPS listeners, file
 * watching) under the permission flags given by the test, then tries to step outside
 * them. Prints one JSON line with what happened. Args: <certs dir> <data dir> <outside>.
 */
import * as grpc from "@grpc/grpc-js";
import https from "node:https";
import { SecurityState } from "../../../security/mod.ts";

const [dir, dataDir, outside] = Deno.args as [string, string, string];
const security = await SecurityState.load({
  serverTls: {
    certFile: `${dir}/node-1.pem`,
    keyFile: `${dir}/node-1-key.pem`,
    caFile: `${dir}/ca.pem`,
  },
  acl: { modelFile: `${dir}/model.conf`, policyFile: `${dir}/policy.csv` },
});
security.watch();
const server = new grpc.Server();
await new Promise<number>((resolve, reject) =>
  server.bindAsync(
    "127.0.0.1:0",
    security.grpcServerCredentials(),
    (error, port) => error ? reject(error) : resolve(port),
  )
);
const httpsServer = https.createServer(
  security.httpsServerOptions()!,
  (_, response) => response.end(),
);
await new Promise<void>((resolve) => httpsServer.listen(0, "127.0.0.1", resolve));
await Deno.writeTextFile(`${dataDir}/inside.txt`, "ok");

async function attempt(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "allowed";
  } catch (error) {
    return error instanceof Error ? error.name : String(error);
  }
}
const result = {
  up: security.authorizer?.can("root", "produce") === true,
  writeOutside: await attempt(() => Deno.writeTextFile(outside, "no")),
  readOutside: await attempt(() =>
    Deno.readTextFile(outside.replace(/[^/]+$/, "probe-secret.txt"))
  ),
  writeCertificate: await attempt(() => Deno.writeTextFile(`${dir}/ca.pem`, "no")),
  run: await attempt(() => new Deno.Command("true").output()),
};
server.forceShutdown();
await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
await security.close();
console.log(JSON.stringify(result));
