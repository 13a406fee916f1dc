import { once } from "./config";

/**
 * Work a request starts but does not wait for (an alert's first delivery). Lambda may freeze the
 * container once the response is sent, so nothing here may be needed for correctness: each task's
 * own retry path (the alert cron) covers a task that never finishes. Tests and the proof script
 * await `settled()`.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<unknown>>();

  run(work: () => Promise<unknown>): void {
    const task = work()
      .catch(() => undefined)
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  /** Resolves when every task started so far (and any they start) has finished. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

export function backgroundTasks(): BackgroundTasks {
  return once(BackgroundTasks, () => new BackgroundTasks());
}
