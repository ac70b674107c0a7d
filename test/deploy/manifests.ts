/** Reads deploy/kubernetes/ for the deployment tests: every YAML document, typed just enough to check. */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MANIFEST_DIR = join(ROOT, "deploy", "kubernetes");

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Probe {
  grpc?: { port: number | string; service?: string };
  httpGet?: unknown;
  tcpSocket?: unknown;
  exec?: unknown;
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown } }[];
  envFrom?: unknown[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] }; httpGet?: unknown } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}

export interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  emptyDir?: unknown;
}

export interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        serviceAccountName?: string;
        terminationGracePeriodSeconds?: number;
        securityContext?: SecurityContext & { fsGroup?: number };
        hostNetwork?: boolean;
        hostPID?: boolean;
        hostIPC?: boolean;
        containers: Container[];
        initContainers?: Container[];
        volumes?: Volume[];
      };
    };
  };
}

export interface Service extends K8sObject {
  spec: {
    selector: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }[];
  };
}

export interface ConfigMap extends K8sObject {
  data?: Record<string, string>;
}

export interface Secret extends K8sObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface PodDisruptionBudget extends K8sObject {
  spec: { selector: { matchLabels: Record<string, string> }; minAvailable?: number | string; maxUnavailable?: number | string };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}

export interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

export interface ManifestFile {
  /** Relative to deploy/kubernetes/. */
  file: string;
  text: string;
}

/** Every YAML file under deploy/kubernetes/, recursively, sorted. */
export function manifestFiles(): ManifestFile[] {
  return readdirSync(MANIFEST_DIR, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ file: relative(MANIFEST_DIR, join(MANIFEST_DIR, f)), text: readFileSync(join(MANIFEST_DIR, f), "utf8") }));
}

/**
 * The documents of one file as Kubernetes reads them (YAML 1.1, like sigs.k8s.io/yaml), or the
 * parser's complaints.
 */
export function parseManifest(text: string, version: "1.1" | "1.2" = "1.1"): { docs: unknown[]; problems: string[] } {
  const docs = parseAllDocuments(text, { version, prettyErrors: true });
  if (!Array.isArray(docs)) return { docs: [], problems: [] }; // an empty stream
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message));
  return { docs: docs.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined), problems };
}

/** All objects of every manifest file except the kustomization. */
export function loadObjects(): K8sObject[] {
  return manifestFiles()
    .filter((m) => !/(^|\/)kustomization\.ya?ml$/.test(m.file))
    .flatMap((m) => parseManifest(m.text).docs as K8sObject[]);
}

/** The files kustomization.yaml applies (its `resources`), relative to deploy/kubernetes/. */
export function kustomizationResources(): string[] {
  const k = manifestFiles().find((m) => m.file === "kustomization.yaml");
  if (!k) throw new Error("deploy/kubernetes/ has no kustomization.yaml");
  return (parseManifest(k.text).docs[0] as { resources?: string[] }).resources ?? [];
}

/** The objects `kubectl apply -k deploy/kubernetes` would create or overwrite. */
export function appliedObjects(): K8sObject[] {
  const files = new Map(manifestFiles().map((m) => [m.file, m.text]));
  return kustomizationResources().flatMap((f) => parseManifest(files.get(f) ?? "").docs as K8sObject[]);
}

export function only<T extends K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind} in deploy/kubernetes/, found ${found.length}`);
  return found[0] as T;
}

/** The port of a `host:port` or `[v6]:port` listen address. */
export function portOf(listen: string): number {
  const m = /:(\d{1,5})$/.exec(listen);
  if (!m) throw new Error(`no port in ${JSON.stringify(listen)}`);
  return Number(m[1]);
}
