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

  add(task: RunningTask): () => void {
    this.tasks.set(task.taskId, task);
    return () => this.tasks.delete(task.taskId);
  }

  get(taskId: string): RunningTask | undefined {
    return this.tasks.get(taskId);
  }
}
