import { describe, expect, it } from "vitest";
import { inLanes } from "../../core/lookups/import-lanes";

/** A task per item that finishes when the test says so, recording what ran when. */
function controlledTasks() {
  const started: number[] = [];
  const finished: number[] = [];
  const release = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let running = 0;
  let mostAtOnce = 0;
  const task = (item: number) =>
    new Promise<void>((resolve, reject) => {
      started.push(item);
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      const done = () => {
        running -= 1;
        finished.push(item);
      };
      release.set(item, { resolve: () => (done(), resolve()), reject: (error) => (done(), reject(error)) });
    });
  /** Lets the event loop run the lanes up to their next await. */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { started, finished, release, task, settle, mostAtOnce: () => mostAtOnce };
}

describe("inLanes", () => {
  it("runs every item in order of start, at most `lanes` at once", async () => {
    const t = controlledTasks();
    const run = inLanes([0, 1, 2, 3, 4], 2, t.task, () => false);
    for (let item = 0; item < 5; item++) {
      await t.settle();
      t.release.get(item)?.resolve();
    }
    expect(await run).toBe(true);
    expect(t.started).toEqual([0, 1, 2, 3, 4]);
    expect(t.mostAtOnce()).toBe(2);
  });

  it("starts nothing once stop() says so, and returns only when the tasks in flight have finished", async () => {
    const t = controlledTasks();
    let stop = false;
    let returned = false;
    const run = inLanes([0, 1, 2, 3, 4], 2, t.task, () => stop).then((finished) => ((returned = true), finished));
    await t.settle();
    stop = true;
    t.release.get(0)?.resolve();
    await t.settle();
    expect(returned).toBe(false);
    t.release.get(1)?.resolve();
    expect(await run).toBe(false);
    expect(t.started).toEqual([0, 1]);
    expect(t.finished).toEqual([0, 1]);
  });

  it("after a failure starts nothing more, lets the task in flight finish, then throws the failure", async () => {
    const t = controlledTasks();
    let settled = false;
    const run = inLanes([0, 1, 2, 3], 2, t.task, () => false).finally(() => (settled = true));
    run.catch(() => undefined);
    await t.settle();
    t.release.get(0)?.reject(new Error("batch 0 failed"));
    await t.settle();
    expect(settled).toBe(false);
    t.release.get(1)?.resolve();
    await expect(run).rejects.toThrow("batch 0 failed");
    expect(t.started).toEqual([0, 1]);
  });
});
