/**
 * Validates every manifest against the Kubernetes OpenAPI schemas, as the API server would on apply.
 * kubeconform is in neither Debian nor npm; `kubernetes-models` (npm, MIT) ships the upstream
 * schemas compiled into validators, one module per apiVersion/kind.
 */
import { describe, expect, it } from "vitest";
import { type K8sObject, loadObjects } from "./manifests.js";

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** `apps/v1` + `Deployment` → kubernetes-models/apps/v1/Deployment; the core group is just `v1`. */
async function modelFor(o: Pick<K8sObject, "apiVersion" | "kind">): Promise<ModelClass> {
  const mod = (await import(/* @vite-ignore */ `kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, ModelClass>;
  const model = mod[o.kind];
  if (!model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return model;
}

async function problems(o: K8sObject): Promise<string | undefined> {
  const Model = await modelFor(o);
  try {
    new Model(o).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("deploy/kubernetes against the Kubernetes schemas", () => {
  const objects = loadObjects();

  it("covers every object, the example Secret included", () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Secret",
      "Service",
      "ServiceAccount",
    ]);
  });

  for (const o of objects)
    it(`${o.kind}/${o.metadata.name} is valid`, async () => {
      expect(await problems(o)).toBeUndefined();
    });

  it("the validator rejects what the API server would (a port given as text, ports that are not a list)", async () => {
    const deployment = structuredClone(objects.find((o) => o.kind === "Deployment")) as K8sObject & {
      spec: { template: { spec: { containers: { image?: string; ports: { containerPort: unknown }[] }[] } } };
    };
    const container = deployment.spec.template.spec.containers[0];
    if (!container?.ports[0]) throw new Error("the Deployment has no container port");
    container.ports[0].containerPort = "50051";
    expect(await problems(deployment)).toMatch(/containerPort must be integer/);
    const service = structuredClone(objects.find((o) => o.kind === "Service")) as K8sObject & { spec: { ports: unknown } };
    service.spec.ports = "50051";
    expect(await problems(service)).toMatch(/ports must be array/);
  });
});
