/**
 * Values kept in this container until a deadline, at most `maxEntries` of them (past that the
 * oldest goes): the in-process memo in front of something slower (a verified token, a resolved
 * ref, a settings owner). The caller gives the time, so each memo keeps its own clock.
 */
export class BoundedMemo<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly untilMs: number }>();

  constructor(private readonly maxEntries: number) {}

  /** The value while `nowMs` is before its deadline; an expired one is forgotten. */
  get(key: string, nowMs: number): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.untilMs > nowMs) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, untilMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, untilMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
