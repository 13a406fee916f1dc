import type { Clock } from "../clock";
import { emptyCounts, startOfPass } from "./model";
import type { SyncCounts, SyncFailure, SyncFilter, SyncPosition, SyncProblem, SyncProgress, SyncState, SyncStop, SyncSummary } from "./model";
import type { KeyPage, KeyScanner, SyncDecision, SyncItem, SyncMetrics, SyncPlanContext, SyncRead, SyncSource, SyncStateStore, SyncWork } from "./ports";

type PageTimings = Record<"scan" | "read" | "plan" | "apply", number>;

/** One page scanned and read ahead of its planning; failures travel here instead of rejecting. */
interface Fetched<Item> {
  /** Where the pass stands once this page is done. */
  readonly next: SyncPosition;
  readonly keys: readonly string[];
  readonly reads?: readonly SyncRead<Item>[];
  readonly readError?: unknown;
  /** SCAN itself failed: the run stops (there is no cursor to go on from). */
  readonly scanError?: unknown;
  readonly timings: PageTimings;
}

/** What a run needs besides its source. */
export interface SyncDeps {
  readonly scanner: KeyScanner;
  readonly state: SyncStateStore;
  readonly clock: Clock;
  readonly metrics?: SyncMetrics | undefined;
  /**
   * What a failed page means (the trigger's error mapping): `continue` counts its keys failed and
   * goes on (bad data, a conflict); `fail` stops the run (a dependency is down, a bug) with the
   * cursor at the last applied page, so the next run resumes there.
   */
  readonly disposition: (error: unknown) => "continue" | "fail";
}

export interface SyncRunOptions {
  /** Lease owner, unique per run (a request id, a uuid). */
  readonly owner: string;
  /** Plan everything and count, write nothing (not even the cursor or the lock). */
  readonly dryRun?: boolean | undefined;
  /** Start from the first key whatever the saved cursor says. */
  readonly full?: boolean | undefined;
  readonly filter?: SyncFilter | undefined;
  /** When the run must be over (the function's timeout minus a reserve); none for an operator's run. */
  readonly deadline?: Date | undefined;
  /** Time kept free before the deadline, on top of the slowest page seen. */
  readonly reserveMs?: number | undefined;
  /** SCAN COUNT: keys examined per page. */
  readonly pageSize?: number | undefined;
  /** How long the lock holds without a cursor save; a dead run's lock frees itself after this. */
  readonly leaseMs?: number | undefined;
  /** Problems and failures listed in the summary (the counts are always complete). */
  readonly maxListed?: number | undefined;
  readonly onProgress?: ((progress: SyncProgress) => void) | undefined;
  /** Where each page's time went (bench, diagnosis): scan, read, plan, apply in ms. */
  readonly onPageTimings?: ((timings: Readonly<Record<"scan" | "read" | "plan" | "apply", number>>) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

export const defaultSyncRunOptions = { reserveMs: 1_000, pageSize: 500, leaseMs: 120_000, maxListed: 100 } as const;

/**
 * Copies one source's Redis values into Postgres, page by page from the saved cursor, under the
 * source's lock and within the time budget (see SyncSource for what a page does). A dry run takes
 * no lock, starts at the first key, goes to the end and writes nothing.
 */
export async function runSync<Item, Change>(deps: SyncDeps, source: SyncSource<Item, Change>, options: SyncRunOptions): Promise<SyncSummary> {
  const run = new SyncRun(deps, source, options);
  return run.execute();
}

class SyncRun<Item, Change> {
  private readonly counts: SyncCounts = emptyCounts();
  private readonly problems: SyncProblem[] = [];
  private readonly failures: SyncFailure[] = [];
  private readonly conflictList: SyncFailure[] = [];
  private problemsLeftOut = 0;
  private readonly context: SyncPlanContext;
  private readonly started: Date;
  private readonly startedMs: number;
  private slowestPageMs = 0;
  private pages = 0;
  private passCompleted = false;
  private passStartedAt: Date;
  private saved: SyncState | null = null;
  private readonly dryRun: boolean;
  private readonly persistent: boolean;

  constructor(
    private readonly deps: SyncDeps,
    private readonly source: SyncSource<Item, Change>,
    private readonly options: SyncRunOptions,
  ) {
    this.dryRun = options.dryRun === true;
    // Filtered runs and dry runs do not walk the whole key space from the cursor: they leave it alone.
    this.persistent = !this.dryRun && !hasFilter(options.filter);
    this.context = { dryRun: this.dryRun, planned: new Map() };
    this.started = deps.clock.now();
    this.startedMs = this.started.getTime();
    this.passStartedAt = this.started;
  }

  async execute(): Promise<SyncSummary> {
    if (this.dryRun) {
      this.saved = await this.deps.state.read(this.source.name);
      return this.finish(await this.walk(startOfPass));
    }
    const leaseMs = this.options.leaseMs ?? defaultSyncRunOptions.leaseMs;
    let state: SyncState | null;
    try {
      state = await this.deps.state.acquire(this.source.name, this.options.owner, leaseMs);
    } catch (error) {
      return this.finish({ stop: "error", error });
    }
    if (!state) return this.finish({ stop: "locked" });
    this.saved = state;
    try {
      const resume = this.persistent && this.options.full !== true && state.passStartedAt !== null;
      if (resume && state.passStartedAt) this.passStartedAt = state.passStartedAt;
      return this.finish(await this.walk(resume ? { patternIndex: state.patternIndex, cursor: state.cursor } : startOfPass));
    } finally {
      await this.deps.state.release(this.source.name, this.options.owner).catch(() => undefined);
    }
  }

  /**
   * Pages until every pattern is done, the budget runs out, or something stops the run. The next
   * page is scanned and read while the current one is planned and applied (its reads touch other
   * keys; its plan waits for this apply), so Redis and validation overlap the database's work.
   */
  private async walk(from: SyncPosition): Promise<{ stop: SyncStop; error?: unknown }> {
    const patterns = this.source.patterns(this.options.filter ?? {});
    let position = from;
    let ahead: Promise<Fetched<Item>> | null = null;
    while (position.patternIndex < patterns.length) {
      if (this.options.signal?.aborted) return { stop: "aborted" };
      if (this.outOfTime()) return { stop: "budget" };
      const pageStarted = this.deps.clock.now().getTime();
      const fetched: Fetched<Item> = await (ahead ?? this.fetch(patterns, position));
      ahead = null;
      if (fetched.scanError !== undefined) return { stop: "error", error: fetched.scanError };
      if (fetched.next.patternIndex < patterns.length && !this.options.signal?.aborted && !this.outOfTime()) {
        ahead = this.fetch(patterns, fetched.next);
      }
      try {
        await this.processPage(fetched);
      } catch (error) {
        return { stop: "error", error };
      }
      position = fetched.next;
      this.slowestPageMs = Math.max(this.slowestPageMs, this.deps.clock.now().getTime() - pageStarted);
      this.pages += 1;
      this.options.onProgress?.({ source: this.source.name, counts: { ...this.counts }, pages: this.pages });
      this.options.onPageTimings?.(fetched.timings);
      if (!(await this.savePosition(position, patterns.length))) return { stop: "lost-lock" };
    }
    return { stop: "done" };
  }

  /** Scans one page from `position` and reads its values; never rejects (failures travel in the result). */
  private async fetch(patterns: readonly string[], position: SyncPosition): Promise<Fetched<Item>> {
    const timings = { scan: 0, read: 0, plan: 0, apply: 0 };
    let started = performance.now();
    let page: KeyPage;
    try {
      page = await this.deps.scanner.scan(patterns[position.patternIndex] as string, position.cursor, this.options.pageSize ?? defaultSyncRunOptions.pageSize);
    } catch (error) {
      return { next: position, keys: [], scanError: error, timings };
    }
    timings.scan = performance.now() - started;
    const next = page.cursor === "0" ? { patternIndex: position.patternIndex + 1, cursor: "0" } : { patternIndex: position.patternIndex, cursor: page.cursor };
    if (page.keys.length === 0) return { next, keys: [], reads: [], timings };
    started = performance.now();
    try {
      const reads = await this.source.read(page.keys);
      timings.read = performance.now() - started;
      return { next, keys: page.keys, reads, timings };
    } catch (error) {
      return { next, keys: page.keys, readError: error, timings };
    }
  }

  private outOfTime(): boolean {
    const deadline = this.options.deadline;
    if (!deadline) return false;
    const reserve = this.options.reserveMs ?? defaultSyncRunOptions.reserveMs;
    // A page may take as long as the slowest one so far: start it only if that still fits.
    return deadline.getTime() - this.deps.clock.now().getTime() < reserve + this.slowestPageMs;
  }

  /** Saves the cursor after an applied page (or records the completed pass); false: the lock is gone. */
  private async savePosition(position: SyncPosition, patternCount: number): Promise<boolean> {
    const complete = position.patternIndex >= patternCount;
    if (complete) this.passCompleted = true;
    if (!this.persistent) return true;
    const leaseMs = this.options.leaseMs ?? defaultSyncRunOptions.leaseMs;
    const { state } = this.deps;
    if (complete) return state.completePass(this.source.name, this.options.owner, this.passStartedAt, leaseMs);
    return state.save(this.source.name, this.options.owner, position, this.passStartedAt, leaseMs);
  }

  /** Counts, plans and applies one fetched page; a failure the disposition forgives counts its keys failed. */
  private async processPage(fetched: Fetched<Item>): Promise<void> {
    const { keys } = fetched;
    this.counts.scanned += keys.length;
    if (keys.length === 0) return;
    const before = { counts: { ...this.counts }, problems: this.problems.length, conflicts: this.conflictList.length, leftOut: this.problemsLeftOut };
    try {
      if (fetched.readError !== undefined) throw fetched.readError;
      const items = this.tally(fetched.reads ?? []);
      if (items.length === 0) return;
      let started = performance.now();
      const decisions = await this.source.plan(items, this.context);
      fetched.timings.plan = performance.now() - started;
      started = performance.now();
      const work = this.workOf(decisions);
      if (work.length > 0) await this.applyWork(work);
      fetched.timings.apply = performance.now() - started;
    } catch (error) {
      // Nothing of the page counts as done: its keys failed (and the next pass sees them again).
      Object.assign(this.counts, before.counts);
      this.problems.length = before.problems;
      this.conflictList.length = Math.min(this.conflictList.length, before.conflicts);
      this.problemsLeftOut = before.leftOut;
      this.countFailed(keys, error);
      if (this.deps.disposition(error) === "fail") throw error;
    }
  }

  /** Items to plan; invalid values and keys without anything to sync are counted here. */
  private tally(reads: readonly SyncRead<Item>[]): SyncItem<Item>[] {
    const items: SyncItem<Item>[] = [];
    for (const read of reads) {
      if (read.kind === "item") items.push({ key: read.key, item: read.item });
      else if (read.kind === "skip") this.counts.unchanged += 1;
      else this.countInvalid(read.key, read.problems);
    }
    return items;
  }

  /** What apply gets; unchanged and invalid decisions are counted here. */
  private workOf(decisions: readonly SyncDecision<Change>[]): SyncWork<Change>[] {
    const work: SyncWork<Change>[] = [];
    for (const decision of decisions) {
      if (decision.kind === "invalid") this.countInvalid(decision.key, decision.problems);
      else if (decision.kind === "unchanged") {
        if (decision.change !== undefined && !this.dryRun) work.push({ kind: "unchanged", key: decision.key, change: decision.change });
        else this.counts.unchanged += 1;
      } else work.push(decision);
      if (decision.kind === "conflict") this.listed(this.conflictList, { key: decision.key, reason: decision.reason });
    }
    return work;
  }

  private countInvalid(key: string, problems: readonly { readonly path: string; readonly reason: string }[]): void {
    this.counts.invalid += 1;
    for (const problem of problems) this.listProblem({ key, ...problem });
  }

  private async applyWork(work: readonly SyncWork<Change>[]): Promise<void> {
    if (this.dryRun) {
      for (const decision of work) this.counts[decision.kind === "write" ? "written" : decision.kind === "conflict" ? "conflicts" : "unchanged"] += 1;
      return;
    }
    const result = await this.source.apply(work);
    this.counts.written += result.written;
    this.counts.conflicts += result.conflicts;
    this.counts.unchanged += result.unchanged;
    this.counts.failed += result.failures.length;
    for (const failure of result.failures) this.listFailure(failure);
  }

  private countFailed(keys: readonly string[], error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.counts.failed += keys.length;
    for (const key of keys) this.listFailure({ key, reason });
  }

  private listProblem(problem: SyncProblem): void {
    if (this.problems.length < (this.options.maxListed ?? defaultSyncRunOptions.maxListed)) this.problems.push(problem);
    else this.problemsLeftOut += 1;
  }

  private listFailure(failure: SyncFailure): void {
    this.listed(this.failures, failure);
  }

  private listed(list: SyncFailure[], entry: SyncFailure): void {
    if (list.length < (this.options.maxListed ?? defaultSyncRunOptions.maxListed)) list.push(entry);
  }

  private finish(end: { stop: SyncStop; error?: unknown }): SyncSummary {
    const now = this.deps.clock.now();
    const elapsedMs = Math.max(0, now.getTime() - this.startedMs);
    const rows = this.counts.written + this.counts.conflicts;
    const summary: SyncSummary = {
      source: this.source.name,
      dryRun: this.dryRun,
      counts: { ...this.counts },
      problems: [...this.problems],
      problemsLeftOut: this.problemsLeftOut,
      failures: [...this.failures],
      conflicts: [...this.conflictList],
      stop: end.stop,
      ...(end.error === undefined ? {} : { error: end.error }),
      elapsedMs,
      rowsPerSecond: elapsedMs > 0 ? (rows * 1000) / elapsedMs : 0,
      lagSeconds: this.lagSeconds(now),
      passCompleted: this.passCompleted,
    };
    if (!this.dryRun && end.stop !== "locked") this.deps.metrics?.publish(summary);
    return summary;
  }

  /**
   * Every Redis change made before the start of the last completed pass is in Postgres (or was
   * reported invalid): the oldest change that may be missing is at most that old.
   */
  private lagSeconds(now: Date): number | null {
    const since = this.passCompleted && this.persistent ? this.passStartedAt : (this.saved?.completedPassStartedAt ?? null);
    return since === null ? null : Math.max(0, (now.getTime() - since.getTime()) / 1000);
  }
}

function hasFilter(filter: SyncFilter | undefined): boolean {
  return filter?.okxUid !== undefined;
}
