/**
 * Runs `task` over `items` in order of start, at most `lanes` at once: one batch's round trip
 * (and the database's work on it) overlaps the next one's, which a single lane leaves idle.
 * No item starts once `stop()` has said true after a task, nor after a task failed; either way
 * every started task is settled before this returns (or throws the first failure), so a caller
 * never cleans up under a task still running. Returns false when stopped.
 */
export async function inLanes<T>(items: Iterable<T>, lanes: number, task: (item: T) => Promise<void>, stop: () => boolean): Promise<boolean> {
  const iterator = items[Symbol.iterator]();
  let stopped = false;
  const failures: unknown[] = [];
  const lane = async () => {
    while (!stopped && failures.length === 0) {
      const next = iterator.next();
      if (next.done) return;
      try {
        await task(next.value);
      } catch (error) {
        failures.push(error);
        return;
      }
      if (stop()) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
  if (failures.length > 0) throw failures[0];
  return !stopped;
}
