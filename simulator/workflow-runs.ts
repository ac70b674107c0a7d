/**
 * Workflow and Chatflow runs outlive the request that started them, as on Dify, where they run in a worker: their
 * events are kept so a client can re-attach (`GET /workflow/{id}/events`), read their status
 * (`GET /workflows/run/{id}`), and answer the forms of their Human Input nodes (`/form/human_input/{token}`).
 */
import type { SimEvent } from "./events.js";
import type { Run } from "./run.js";
import { DEFAULT_FORM_TTL_MS } from "./workflow-events.js";

/** Runs kept; the oldest is forgotten first. Bounds the simulator's memory under load tests. */
const MAX_RUNS = 2_000;

export interface FormAction {
  id: string;
  title: string;
  button_style: string;
}

/** A Human Input form a paused run waits for. */
export interface StoredForm {
  readonly token: string;
  readonly formId: string;
  readonly run: StoredRun;
  readonly nodeId: string;
  readonly nodeTitle: string;
  readonly formContent: string;
  readonly inputs: readonly { type: string; output_variable_name: string }[];
  readonly actions: readonly FormAction[];
  readonly resolvedDefaultValues: Record<string, string>;
  readonly expirationTime: number;
  /** When the form stops taking answers (ms since the epoch); the run then resumes along its timeout branch. */
  readonly expiresAtMs: number;
  /** A form is answered once, or expires; either is final. */
  state: "open" | "submitted" | "expired";
}

type RunStatus = "running" | "succeeded" | "failed" | "stopped" | "partial-succeeded" | "paused";

export class StoredRun {
  /** Every event of the run, in order. */
  readonly events: SimEvent[] = [];
  status: RunStatus = "running";
  /** The last `workflow_finished` or `workflow_paused` data. */
  lastData: Record<string, unknown> = {};
  /** Where the part of the run since its last resumption begins in `events`. */
  segmentStart = 0;
  /** Human-input pauses this run has had. */
  pauses = 0;
  readonly #waiters = new Set<() => void>();

  constructor(readonly run: Run) {}

  get finished(): boolean {
    return this.status !== "running" && this.status !== "paused";
  }

  append(event: SimEvent): void {
    this.events.push(event);
    const data = (event["data"] ?? {}) as Record<string, unknown>;
    if (event.event === "workflow_finished") {
      this.status = String(data["status"]) as RunStatus;
      this.lastData = data;
    } else if (event.event === "workflow_paused") {
      this.status = "paused";
      this.pauses++;
      this.lastData = data;
    }
    for (const wake of [...this.#waiters]) wake();
  }

  /** A submit resumed the run: re-attaching now replays from here. */
  resume(): void {
    this.status = "running";
    this.segmentStart = this.events.length;
  }

  /** Resolves when an event is appended or `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

export class WorkflowRunStore {
  readonly #runs = new Map<string, StoredRun>();
  readonly #forms = new Map<string, StoredForm>();
  /** Pending form expiries by token, cleared with their run so the store stays bounded by MAX_RUNS. */
  readonly #expiries = new Map<string, NodeJS.Timeout>();

  /** `expire` resumes a run whose form nobody answered in time (human-input.ts), as Dify's expiry job does. */
  constructor(private readonly expire: (form: StoredForm) => void) {}

  /** Keeps the run and records each of its events (forms included) as it is produced. */
  track(run: Run): StoredRun {
    const stored = new StoredRun(run);
    this.#runs.set(run.workflowRunId, stored);
    if (this.#runs.size > MAX_RUNS) {
      const oldest = this.#runs.keys().next().value as string;
      this.#runs.delete(oldest);
      for (const [token, form] of this.#forms) {
        if (form.run.run.workflowRunId !== oldest) continue;
        this.#forms.delete(token);
        clearTimeout(this.#expiries.get(token));
        this.#expiries.delete(token);
      }
    }
    return stored;
  }

  record(stored: StoredRun, event: SimEvent): void {
    stored.append(event);
    if (event.event !== "human_input_required") return;
    const data = event["data"] as Record<string, unknown>;
    const token = data["form_token"];
    if (typeof token !== "string") return;
    const form: StoredForm = {
      token,
      formId: String(data["form_id"]),
      run: stored,
      nodeId: String(data["node_id"]),
      nodeTitle: String(data["node_title"]),
      formContent: String(data["form_content"]),
      inputs: data["inputs"] as StoredForm["inputs"],
      actions: data["actions"] as FormAction[],
      resolvedDefaultValues: data["resolved_default_values"] as Record<string, string>,
      expirationTime: Number(data["expiration_time"]),
      expiresAtMs: Date.now() + (stored.run.directives.formTtlMs ?? DEFAULT_FORM_TTL_MS),
      state: "open",
    };
    this.#forms.set(token, form);
    // Unref'd: a pending expiry never keeps the simulator's process alive.
    const timer = setTimeout(() => {
      this.#expiries.delete(token);
      this.expire(form);
    }, form.expiresAtMs - Date.now());
    this.#expiries.set(token, timer.unref());
  }

  /** The run, only for the app that owns it. */
  run(workflowRunId: string, appId: string): StoredRun | undefined {
    const stored = this.#runs.get(workflowRunId);
    return stored?.run.app.appId === appId ? stored : undefined;
  }

  /** The form, only for the app whose run it belongs to. */
  form(token: string, appId: string): StoredForm | undefined {
    const form = this.#forms.get(token);
    return form?.run.run.app.appId === appId ? form : undefined;
  }
}
