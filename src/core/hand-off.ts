import { createContextKey } from "./context.js";

/** A run the caller can re-attach to on another replica (`WatchRun`): a workflow or Chatflow run Dify has named. */
export interface ReattachableRun {
  readonly appId: string;
  readonly workflowRunId: string;
}

/**
 * Set by a call whose Dify run can be handed off; read by the drain when the grace runs out. Undefined (or a getter
 * returning undefined) means the run cannot be re-attached: chat, agent-chat and completion runs, and a workflow run
 * no event has named yet. Those are stopped as before.
 */
export const REATTACHABLE_RUN = createContextKey<(() => ReattachableRun | undefined) | undefined>(undefined, "re-attachable run");
