import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type ConfigFile, configSchema } from "../../src/config/schema.js";
import { LIVENESS_SERVICE } from "../../src/server/server.js";
import {
  appliedObjects,
  type ConfigMap,
  type Container,
  type Deployment,
  type K8sObject,
  kustomizationResources,
  loadObjects,
  MANIFEST_DIR,
  manifestFiles,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  only,
  type PodDisruptionBudget,
  parseManifest,
  portOf,
  type Secret,
  type Service,
} from "./manifests.js";

/** The gateway's defaults, straight from the schema: a minimal valid file, everything else defaulted. */
const DEFAULTS = configSchema.parse({
  workspaces: [
    {
      id: "w",
      difyBaseUrl: "https://dify.example.com/v1",
      tokens: [{ sha256: "0".repeat(64) }],
      apps: [{ appId: "a", key: { env: "K" } }],
    },
  ],
});

const objects = loadObjects();
const deployment = only<Deployment>(objects, "Deployment");
const service = only<Service>(objects, "Service");
const configMap = only<ConfigMap>(objects, "ConfigMap");
const secret = only<Secret>(objects, "Secret");
const pod = deployment.spec.template.spec;
const gateway = pod.containers.find((c) => c.name === "gateway") as Container;

/** The --config path the container starts with. */
function configPath(c: Container): string {
  const args = [...(c.command ?? []), ...(c.args ?? [])];
  const i = args.indexOf("--config");
  const inline = args.find((a) => a.startsWith("--config="));
  const path = i >= 0 ? args[i + 1] : inline?.slice("--config=".length);
  if (path) return path;
  const env = c.env?.find((e) => e.name === "DIFY_GATEWAY_CONFIG")?.value;
  if (env) return env;
  throw new Error("the gateway container names no config file (--config or DIFY_GATEWAY_CONFIG)");
}

/** The volume mounted at the longest mountPath that contains `path`, and the path inside it. */
function mountFor(c: Container, path: string): { volume: string; inside: string } | undefined {
  const mounts = (c.volumeMounts ?? [])
    .filter((m) => path.startsWith(m.mountPath.replace(/\/?$/, "/")))
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
  const m = mounts[0];
  if (!m) return undefined;
  const rest = posix.relative(m.mountPath, path);
  if (m.subPath) return { volume: m.name, inside: posix.join(m.subPath, rest) };
  return { volume: m.name, inside: rest };
}

/** The keys a projected ConfigMap or Secret volume shows as files, by file path. */
function filesOf(keys: string[], items: { key: string; path: string }[] | undefined): Map<string, string> {
  return new Map(items ? items.map((i) => [i.path, i.key]) : keys.map((k) => [k, k]));
}

const secretKeys = Object.keys({ ...secret.data, ...secret.stringData });
const CONFIG_PATH = configPath(gateway);
const configText = (() => {
  const mount = mountFor(gateway, CONFIG_PATH);
  if (!mount) throw new Error(`${CONFIG_PATH} is on no volume of the gateway container`);
  const volume = pod.volumes?.find((v) => v.name === mount.volume);
  if (volume?.configMap?.name !== configMap.metadata.name)
    throw new Error(`${CONFIG_PATH} is not on the ConfigMap ${configMap.metadata.name}`);
  const key = filesOf(Object.keys(configMap.data ?? {}), volume.configMap.items).get(mount.inside);
  const text = key === undefined ? undefined : configMap.data?.[key];
  if (text === undefined) throw new Error(`the ConfigMap has no file ${mount.inside}`);
  return text;
})();
/** The config the pod would run with. */
const effective: ConfigFile = configSchema.parse(parseYaml(configText));

function containerPort(name: string): number {
  const p = gateway.ports?.find((x) => x.name === name);
  if (!p) throw new Error(`the gateway container has no port named ${name}`);
  return p.containerPort;
}

function preStopSleepSeconds(c: Container): number {
  const preStop = c.lifecycle?.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return preStop.sleep.seconds;
  const cmd = preStop.exec?.command ?? [];
  const n = cmd[0] === "sleep" ? Number(cmd[1]) : NaN;
  if (!Number.isFinite(n)) throw new Error(`cannot tell how long preStop ${JSON.stringify(preStop)} takes`);
  return n;
}

describe("deploy/kubernetes manifests", () => {
  it("every file parses as YAML, and means the same to YAML 1.1 (Kubernetes) and 1.2 parsers", () => {
    const files = manifestFiles();
    expect(files.map((f) => f.file)).toEqual(
      expect.arrayContaining([
        "configmap.yaml",
        "deployment.yaml",
        "kustomization.yaml",
        "networkpolicy.yaml",
        "secret.example.yaml",
        "service.yaml",
      ]),
    );
    for (const { file, text } of files) {
      const k8s = parseManifest(text, "1.1");
      expect(k8s.problems, file).toEqual([]);
      expect(k8s.docs.length, file).toBeGreaterThan(0);
      expect(parseManifest(text, "1.2").docs, `${file}: a scalar such as 0440 or yes reads differently in YAML 1.1`).toEqual(k8s.docs);
      for (const doc of k8s.docs as K8sObject[]) {
        expect(typeof doc.apiVersion, file).toBe("string");
        expect(typeof doc.kind, file).toBe("string");
        if (doc.kind !== "Kustomization") expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      }
    }
  });

  it("kustomization.yaml lists every other manifest file except the example Secret, and nothing else", () => {
    const others = manifestFiles()
      .map((f) => f.file)
      .filter((f) => f !== "kustomization.yaml" && !f.includes(".example.") && dirname(f) === ".");
    expect([...kustomizationResources()].sort()).toEqual(others.sort());
  });

  it("`kubectl apply -k` never overwrites the real Secret with placeholder keys", () => {
    // The README's steps create the Secret first, then apply the kustomization: a Secret in it (or a
    // secretGenerator of placeholders) would replace the operator's real keys on every apply.
    expect(
      appliedObjects()
        .filter((o) => o.kind === "Secret")
        .map((o) => o.metadata.name),
    ).toEqual([]);
    const k = parseManifest(readFileSync(join(MANIFEST_DIR, "kustomization.yaml"), "utf8")).docs[0] as Record<string, unknown>;
    expect(k.secretGenerator).toBeUndefined();
  });

  it("the README's `kubectl create secret` supplies every key the Deployment reads, before `apply -k`", () => {
    const readme = readFileSync(join(MANIFEST_DIR, "README.md"), "utf8").replace(/\\\n\s*/g, " ");
    const create = readme.split("\n").findIndex((l) => l.startsWith(`kubectl create secret generic ${secret.metadata.name} `));
    const apply = readme.split("\n").findIndex((l) => l.startsWith("kubectl apply -k"));
    expect(create, "no `kubectl create secret generic` line").toBeGreaterThanOrEqual(0);
    expect(create).toBeLessThan(apply);
    const line = readme.split("\n")[create] ?? "";
    const supplied = [...line.matchAll(/--from-(?:file|literal)=([^=\s]+)=/g)].map((m) => m[1]);
    expect(supplied.sort()).toEqual([...secretKeys].sort());
  });

  it("no two objects share a kind and name", () => {
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  describe("the ConfigMap's gateway.yaml", () => {
    it("keeps keepaliveTimeMs at or above maxConnectionAgeGraceMs, so the aged-connection grace is not cut short", () => {
      // grpc-js destroys an aged connection at its next keepalive PING: a lower value shortens the grace to it.
      expect(effective.server.keepaliveTimeMs).toBeGreaterThanOrEqual(effective.server.maxConnectionAgeGraceMs);
    });

    it("a value commented `# default` is the gateway's default", () => {
      // `key: value   # default…` lines, by their path under the indentation
      const path: string[] = [];
      const checked: string[] = [];
      for (const line of configText.split("\n")) {
        const m = /^( *)(?:- )?([A-Za-z]+):\s*(\S[^#]*?)?\s*(#.*)?$/.exec(line);
        if (!m) continue;
        const depth = (m[1] ?? "").length / 2;
        path.length = depth;
        path[depth] = m[2] ?? "";
        if (!m[3] || !/^# default\b/.test(m[4] ?? "")) continue;
        const actual = path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], effective);
        const fallback = path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], DEFAULTS);
        expect(actual, `${path.join(".")} is commented "default"`).toEqual(fallback);
        checked.push(path.join("."));
      }
      expect(checked).toContain("server.listen");
    });

    it("is the file the container is started with, and is valid against the gateway's schema", () => {
      expect(CONFIG_PATH).toBe("/etc/dify-grpc-gateway/gateway.yaml");
      const parsed = configSchema.safeParse(parseYaml(configText));
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    });

    it("takes every { env } app key from the Secret, through the Deployment", () => {
      const envRefs = effective.workspaces.flatMap((w) => w.apps.flatMap((a) => ("env" in a.key ? [a.key.env] : [])));
      expect(envRefs.length).toBeGreaterThan(0);
      for (const name of envRefs) {
        const entries = (gateway.env ?? []).filter((e) => e.name === name);
        expect(entries, `env ${name}`).toHaveLength(1);
        const ref = entries[0]?.valueFrom?.secretKeyRef;
        expect(entries[0]?.value, `${name} must not be a literal value`).toBeUndefined();
        expect(ref, `${name} must come from a secretKeyRef`).toBeDefined();
        expect(ref?.name).toBe(secret.metadata.name);
        expect(secretKeys, `the Secret has no key ${ref?.key}`).toContain(ref?.key);
      }
    });

    it("finds every { file } app key in a mounted Secret volume", () => {
      const fileRefs = effective.workspaces.flatMap((w) => w.apps.flatMap((a) => ("file" in a.key ? [a.key.file] : [])));
      expect(fileRefs.length).toBeGreaterThan(0);
      for (const ref of fileRefs) {
        // Relative paths are relative to the config file's folder, as the loader resolves them.
        const path = isAbsolute(ref) ? ref : posix.join(posix.dirname(CONFIG_PATH), ref);
        const mount = mountFor(gateway, path);
        expect(mount, `${path} is on no volume`).toBeDefined();
        const volume = pod.volumes?.find((v) => v.name === mount?.volume);
        expect(volume?.secret?.secretName, `${path} must be on a Secret volume`).toBe(secret.metadata.name);
        const files = filesOf(secretKeys, volume?.secret?.items);
        expect([...files.keys()], `${path}: the Secret volume shows no file ${mount?.inside}`).toContain(mount?.inside);
      }
    });

    it("leaves no Secret value in the ConfigMap, and only placeholders in the example Secret", () => {
      const values = Object.values({ ...secret.stringData });
      expect(values.length).toBe(secretKeys.length);
      for (const v of values) {
        expect(v).toMatch(/PLACEHOLDER/);
        expect(configText).not.toContain(v);
      }
    });
  });

  describe("ports and probes match the gateway's defaults", () => {
    const grpcPort = portOf(DEFAULTS.server.listen);
    const metricsPort = portOf(DEFAULTS.metrics.listen);

    it("the container's grpc and metrics ports are the default server.listen and metrics.listen ports", () => {
      expect(containerPort("grpc")).toBe(grpcPort);
      expect(containerPort("metrics")).toBe(metricsPort);
      // and the ConfigMap does not move them
      expect(portOf(effective.server.listen)).toBe(grpcPort);
      expect(portOf(effective.metrics.listen)).toBe(metricsPort);
      expect(effective.metrics.enabled).toBe(true);
      // a sidecar or the kubelet reaches the pod on its IP, not on loopback
      expect(effective.server.listen).toMatch(/^(0\.0\.0\.0|\[::\]):/);
      expect(effective.metrics.listen).toMatch(/^(0\.0\.0\.0|\[::\]):/);
    });

    it("the Service sends grpc and metrics to those container ports, and selects the gateway's pods", () => {
      const resolve = (target: number | string | undefined, port: number) =>
        typeof target === "string" ? containerPort(target) : (target ?? port);
      const grpc = service.spec.ports.find((p) => p.name === "grpc");
      expect(grpc?.appProtocol).toBe("grpc");
      expect(resolve(grpc?.targetPort, grpc?.port ?? 0)).toBe(grpcPort);
      const metrics = service.spec.ports.find((p) => p.name === "metrics");
      expect(resolve(metrics?.targetPort, metrics?.port ?? 0)).toBe(metricsPort);
      expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    });

    it("the Prometheus annotations point at the metrics port", () => {
      const a = deployment.spec.template.metadata.annotations ?? {};
      expect(a["prometheus.io/scrape"]).toBe("true");
      expect(Number(a["prometheus.io/port"])).toBe(metricsPort);
      expect(a["prometheus.io/path"]).toBe("/metrics");
    });

    it("startup, liveness and readiness are native gRPC probes on the grpc port", () => {
      for (const probe of [gateway.startupProbe, gateway.livenessProbe, gateway.readinessProbe]) {
        expect(probe?.grpc).toBeDefined();
        // gRPC probes take a port number only, so it must equal the grpc port itself
        expect(probe?.grpc?.port).toBe(grpcPort);
      }
    });

    it("readiness follows the overall status, which drains; startup and liveness use one that does not", () => {
      expect(gateway.readinessProbe?.grpc?.service ?? "").toBe("");
      // the health service the gateway keeps SERVING until it exits
      expect(LIVENESS_SERVICE).not.toBe("");
      expect(gateway.livenessProbe?.grpc?.service).toBe(LIVENESS_SERVICE);
      expect(gateway.startupProbe?.grpc?.service).toBe(LIVENESS_SERVICE);
    });

    it("terminationGracePeriodSeconds covers preStop, the drain grace and the exit", () => {
      const graceMs = Math.max(DEFAULTS.shutdown.graceMs, effective.shutdown.graceMs);
      const budgetMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
      expect(budgetMs).toBeGreaterThan(preStopSleepSeconds(gateway) * 1000 + graceMs + 2000);
    });
  });

  describe("the Deployment", () => {
    it("runs at least two replicas, spread and protected by a PodDisruptionBudget", () => {
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      const pdb = only<PodDisruptionBudget>(objects, "PodDisruptionBudget");
      expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
      expect(pdb.spec.maxUnavailable ?? 0).not.toBe(0);
    });

    it("sets requests and limits", () => {
      expect(Object.keys(gateway.resources?.requests ?? {}).sort()).toEqual(["cpu", "memory"]);
      expect(gateway.resources?.limits?.memory).toBeDefined();
    });

    it("runs under the restricted Pod Security Standard", () => {
      const podSc = pod.securityContext ?? {};
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.hostPID ?? false).toBe(false);
      expect(pod.hostIPC ?? false).toBe(false);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot ?? podSc.runAsNonRoot, c.name).toBe(true);
        expect(sc.runAsUser ?? podSc.runAsUser ?? 1, c.name).not.toBe(0);
        expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
        expect(sc.privileged ?? false, c.name).toBe(false);
        expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
        expect(sc.capabilities?.drop, c.name).toContain("ALL");
        expect(sc.capabilities?.add ?? [], c.name).toEqual([]);
        expect((sc.seccompProfile ?? podSc.seccompProfile)?.type, c.name).toBe("RuntimeDefault");
      }
    });

    it("runs as the ServiceAccount it ships", () => {
      const sa = only<K8sObject>(objects, "ServiceAccount");
      expect(pod.serviceAccountName).toBe(sa.metadata.name);
    });
  });

  describe("the NetworkPolicy", () => {
    const policy = only<NetworkPolicy>(objects, "NetworkPolicy");
    const ingress = policy.spec.ingress ?? [];
    const egress = policy.spec.egress ?? [];
    const grpcPort = containerPort("grpc");
    const metricsPort = containerPort("metrics");

    /** A policy port as the gateway container's port number: a name is looked up among the container's ports. */
    function podPort(p: NetworkPolicyPort): number {
      if (typeof p.port === "string") return containerPort(p.port);
      if (p.port === undefined || p.endPort !== undefined) throw new Error(`a rule admits a range of ports: ${JSON.stringify(p)}`);
      return p.port;
    }

    /** A peer that matches every namespace or every address: the rule would admit the whole cluster (or more). */
    function everywhere(peer: NetworkPolicyPeer): boolean {
      const empty = (sel: NetworkPolicyPeer["podSelector"]) =>
        sel !== undefined && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
      if (peer.ipBlock) return /^(0\.0\.0\.0|::)\/0$/.test(peer.ipBlock.cidr);
      return empty(peer.namespaceSelector) && (peer.podSelector === undefined || empty(peer.podSelector));
    }

    it("is applied by the kustomization, and selects the Deployment's pods for ingress and egress", () => {
      expect(appliedObjects().filter((o) => o.kind === "NetworkPolicy")).toHaveLength(1);
      const selector = policy.spec.podSelector;
      // an empty selector would isolate every pod of the namespace, not just the gateway's
      expect(Object.keys(selector.matchLabels ?? {}).length).toBeGreaterThan(0);
      expect(selector.matchExpressions ?? []).toEqual([]);
      expect(deployment.spec.template.metadata.labels).toMatchObject(selector.matchLabels ?? {});
      expect(deployment.spec.selector.matchLabels).toMatchObject(selector.matchLabels ?? {});
      expect([...(policy.spec.policyTypes ?? [])].sort()).toEqual(["Egress", "Ingress"]);
    });

    it("admits exactly the container's grpc and metrics ports, each in its own rule", () => {
      const protocolOf = (port: number) => gateway.ports?.find((p) => p.containerPort === port)?.protocol ?? "TCP";
      const admitted = new Set<number>();
      for (const rule of ingress) {
        // a rule without ports admits every port
        expect(rule.ports?.length ?? 0, JSON.stringify(rule)).toBeGreaterThan(0);
        const ports = (rule.ports ?? []).map(podPort);
        for (const [i, port] of ports.entries()) {
          expect(
            gateway.ports?.map((p) => p.containerPort),
            `port ${port} is no port of the gateway container`,
          ).toContain(port);
          expect(rule.ports?.[i]?.protocol ?? "TCP").toBe(protocolOf(port));
          admitted.add(port);
        }
        // callers must not reach /metrics, nor Prometheus the API, through a shared rule
        expect(ports.includes(grpcPort) && ports.includes(metricsPort), JSON.stringify(rule)).toBe(false);
      }
      expect([...admitted].sort()).toEqual([grpcPort, metricsPort].sort());
    });

    it("admits the grpc and metrics ports from named sources only, never from the whole cluster", () => {
      const sourcesOf = (port: number) => ingress.filter((r) => (r.ports ?? []).some((p) => podPort(p) === port));
      for (const rule of ingress) {
        // a rule without `from` admits every source
        expect(rule.from?.length ?? 0, JSON.stringify(rule)).toBeGreaterThan(0);
        for (const peer of rule.from ?? []) expect(everywhere(peer), JSON.stringify(peer)).toBe(false);
      }
      expect(JSON.stringify(sourcesOf(grpcPort).map((r) => r.from))).not.toBe(JSON.stringify(sourcesOf(metricsPort).map((r) => r.from)));
    });

    it("lets the pods reach DNS and every Dify the ConfigMap names, on named destinations and ports only", () => {
      for (const rule of egress) {
        expect(rule.ports?.length ?? 0, JSON.stringify(rule)).toBeGreaterThan(0);
        expect(rule.to?.length ?? 0, JSON.stringify(rule)).toBeGreaterThan(0);
        for (const peer of rule.to ?? []) expect(everywhere(peer), JSON.stringify(peer)).toBe(false);
      }
      const allows = (port: number, protocol: string) =>
        egress.some((r) => (r.ports ?? []).some((p) => p.port === port && (p.protocol ?? "TCP") === protocol));
      expect(allows(53, "UDP"), "DNS over UDP").toBe(true);
      expect(allows(53, "TCP"), "DNS over TCP").toBe(true);
      for (const w of effective.workspaces) {
        const url = new URL(w.difyBaseUrl);
        const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
        expect(allows(port, "TCP"), `egress to ${w.difyBaseUrl}`).toBe(true);
      }
    });

    it("every placeholder label it selects on is explained in deploy/kubernetes/README.md", () => {
      const readme = readFileSync(join(MANIFEST_DIR, "README.md"), "utf8");
      const peers = [...ingress.flatMap((r) => r.from ?? []), ...egress.flatMap((r) => r.to ?? [])];
      const labels = peers
        .flatMap((p) => [p.namespaceSelector, p.podSelector])
        .flatMap((sel) => Object.entries(sel?.matchLabels ?? {}))
        .filter(([key]) => key.startsWith("dify-grpc-gateway/"));
      expect(labels.length).toBeGreaterThan(0);
      for (const [key, value] of labels) expect(readme, `${key}=${value}`).toContain(`${key}=${value}`);
    });
  });
});
