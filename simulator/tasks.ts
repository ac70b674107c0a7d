import type { RunControl } from "./run-control.js";
import type { AppMode } from "./types.js";

export interface RunningTask {
  taskId: string;
  appId: string;
  mode: AppMode;
  user: string;
  /** `_sim.fault: "stop_fails"`: this task's stop endpoint answers 500. */
  stopFails: boolean;
  control: RunControl;
}

/** Runs that a stop endpoint can still reach; a task leaves the registry when its run ends. */
export class TaskRegistry {
  private readonly tasks = new Map<string, RunningTask>();
  /**
   * Task id → app id of `stop_fails` runs. Kept after the run ends: a gateway aborts its stream before it calls
   * stop, which ends the simulated run first, yet its stop call must still fail. Only fault runs land here.
   */
  private readonly failingStops = new Map<string, string>();

  add(task: RunningTask): () => void {
    this.tasks.set(task.taskId, task);
    if (task.stopFails) this.failingStops.set(task.taskId, task.appId);
    return () => this.tasks.delete(task.taskId);
  }

  /** Whether a stop of this task of this app must answer 500 (`_sim.fault: "stop_fails"`). */
  stopFails(taskId: string, appId: string): boolean {
    return this.failingStops.get(taskId) === appId;
  }

  get(taskId: string): RunningTask | undefined {
    return this.tasks.get(taskId);
  }
}
