import type { Clock } from "../clock";
import { legacyKeyForms } from "../redis/keys";
import type { LegacyKey, LegacyKeyForm, PositionKeys } from "../redis/keys";
import { planLegacyKey } from "./legacy-plan";
import type { LegacyPlan, LegacyValue } from "./legacy-plan";

export interface LegacyRead {
  readonly value: LegacyValue;
  readonly fingerprint: string;
}

export type MoveOutcome = "moved" | "conflict" | "changed" | "failed" | "skipped";

export interface FormCounts {
  /** Legacy keys of this form the scan met. */
  found: number;
  /** Keys moved (a dry run: that would move). */
  moved: number;
  /** Standard positions written (a GRID array writes several). */
  positions: number;
  /** Left in place: the standard key already exists. */
  conflicts: number;
  /** Left in place: the value cannot be read into the standard (reported with the reason). */
  invalid: number;
  /** Left in place: a bot kept changing it, or Redis refused the move; the next run tries again. */
  failed: number;
}

export type MigrationCounts = Record<LegacyKeyForm, FormCounts>;

/** What an interrupted --apply run left to resume from (Redis, migrateKeysState). */
export interface MigrationState {
  readonly cursor: string;
  readonly counts: MigrationCounts;
  readonly scanned: number;
}

export interface MoveEntry {
  readonly key: string;
  readonly legacy: LegacyKey;
  readonly plan: LegacyPlan;
  readonly fingerprint: string;
}

/** The Redis side of the migration (core/positions/adapters/upstash-legacy-keys.ts). */
export interface LegacyKeyStore {
  scan(cursor: string, count: number): Promise<{ cursor: string; keys: string[] }>;
  read(keys: readonly string[]): Promise<LegacyRead[]>;
  /** For a dry run: whether each planned target already exists. */
  targetsExist(entries: readonly MoveEntry[]): Promise<boolean[][]>;
  /** Each key moved atomically (compare-and-move), one pipeline. */
  apply(entries: readonly MoveEntry[], now: Date, overwrite: boolean): Promise<MoveOutcome[]>;
  loadState(): Promise<MigrationState | null>;
  saveState(state: MigrationState): Promise<void>;
  clearState(): Promise<void>;
}

export interface MigrateKeysDeps {
  readonly store: LegacyKeyStore;
  readonly keys: PositionKeys;
  readonly clock: Clock;
}

export interface MigrateKeysOptions {
  readonly apply: boolean;
  readonly pageSize: number;
  /** Stop after this many pages (the saved cursor resumes); a bounded batch. */
  readonly maxPages?: number | undefined;
  /**
   * A legacy value replaces a standard position that exists (keeping its id and opened_at), instead
   * of being left as a conflict: for runs repeated while bots still write the old keys.
   */
  readonly overwrite?: boolean | undefined;
  /** Ignore a saved cursor and start from the first key. */
  readonly restart?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: { readonly scanned: number; readonly counts: MigrationCounts }) => void) | undefined;
  readonly maxListed?: number | undefined;
}

export interface MigrationProblem {
  readonly key: string;
  readonly reason: string;
}

export interface MigrateKeysSummary {
  readonly apply: boolean;
  readonly counts: MigrationCounts;
  readonly scanned: number;
  readonly problems: readonly MigrationProblem[];
  readonly problemsLeftOut: number;
  /** done: the scan finished; paused: --pages ran out (run again to resume); aborted: Ctrl-C. */
  readonly stop: "done" | "paused" | "aborted";
  readonly resumedFrom: string | null;
  readonly elapsedMs: number;
  readonly keysPerSecond: number;
}

/** How often a key a bot keeps rewriting is read again and retried within one page. */
const MAX_ATTEMPTS = 4;

export function emptyMigrationCounts(): MigrationCounts {
  return Object.fromEntries(legacyKeyForms.map((form) => [form, { found: 0, moved: 0, positions: 0, conflicts: 0, invalid: 0, failed: 0 }])) as MigrationCounts;
}

/** Total of one count over every form. */
export function totalOf(counts: MigrationCounts, name: keyof FormCounts): number {
  return legacyKeyForms.reduce((sum, form) => sum + counts[form][name], 0);
}

/**
 * `ops migrate-keys`: walks the key space with SCAN, moves every legacy position and order key into
 * the standard (--apply), each atomically, or says exactly what it would do (dry run). An --apply
 * run saves its cursor after each page, so a cut run resumes; a second full run moves nothing.
 */
export async function migrateKeys(deps: MigrateKeysDeps, options: MigrateKeysOptions): Promise<MigrateKeysSummary> {
  const started = deps.clock.now().getTime();
  const saved = options.apply && !options.restart ? await deps.store.loadState() : null;
  const run = new MigrationRun(deps, options, saved);
  let cursor = saved?.cursor ?? "0";
  let pages = 0;
  let stop: MigrateKeysSummary["stop"] = "done";
  do {
    if (options.signal?.aborted) {
      stop = "aborted";
      break;
    }
    if (options.maxPages !== undefined && pages >= options.maxPages) {
      stop = "paused";
      break;
    }
    const page = await deps.store.scan(cursor, options.pageSize);
    await run.page(page.keys);
    cursor = page.cursor;
    pages += 1;
    if (options.apply) await (cursor === "0" ? deps.store.clearState() : deps.store.saveState({ cursor, counts: run.counts, scanned: run.scanned }));
    options.onProgress?.({ scanned: run.scanned, counts: run.counts });
  } while (cursor !== "0");
  const elapsedMs = Math.max(1, deps.clock.now().getTime() - started);
  return { ...run.result(), apply: options.apply, stop, resumedFrom: saved?.cursor ?? null, elapsedMs, keysPerSecond: Math.round((totalOf(run.counts, "moved") * 1000) / elapsedMs) };
}

class MigrationRun {
  readonly counts: MigrationCounts;
  scanned: number;
  private readonly problems: MigrationProblem[] = [];
  private problemsLeftOut = 0;
  /** Targets this dry run has already counted (two legacy keys may name one position). */
  private readonly planned = new Set<string>();

  constructor(
    private readonly deps: MigrateKeysDeps,
    private readonly options: MigrateKeysOptions,
    saved: MigrationState | null,
  ) {
    this.counts = saved ? structuredClone(saved.counts) : emptyMigrationCounts();
    this.scanned = saved?.scanned ?? 0;
  }

  result() {
    return { counts: this.counts, scanned: this.scanned, problems: this.problems, problemsLeftOut: this.problemsLeftOut };
  }

  async page(keyNames: readonly string[]): Promise<void> {
    this.scanned += keyNames.length;
    let pending = keyNames.flatMap((key) => {
      const legacy = this.deps.keys.legacyKeyOf(key);
      return legacy ? [{ key, legacy }] : [];
    });
    for (const { legacy } of pending) this.counts[legacy.form].found += 1;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const entries = await this.planned_(pending);
      pending = this.options.apply ? await this.applyEntries(entries, attempt) : await this.countDry(entries);
    }
  }

  private async planned_(pending: readonly { key: string; legacy: LegacyKey }[]): Promise<MoveEntry[]> {
    const reads = await this.deps.store.read(pending.map((p) => p.key));
    return pending.map(({ key, legacy }, i) => {
      const read = reads[i] ?? { value: { type: "none" }, fingerprint: "" };
      return { key, legacy, plan: planLegacyKey(legacy, read.value), fingerprint: read.fingerprint };
    });
  }

  /** Applies the page; returns the keys a writer changed since they were read (to read again). */
  private async applyEntries(entries: readonly MoveEntry[], attempt: number): Promise<{ key: string; legacy: LegacyKey }[]> {
    const outcomes = await this.deps.store.apply(entries, this.deps.clock.now(), this.options.overwrite === true);
    const again: { key: string; legacy: LegacyKey }[] = [];
    entries.forEach((entry, i) => {
      const outcome = outcomes[i] ?? "failed";
      if (outcome === "changed" && attempt < MAX_ATTEMPTS) again.push({ key: entry.key, legacy: entry.legacy });
      else this.count(entry, outcome === "changed" ? "failed" : outcome);
    });
    return again;
  }

  private async countDry(entries: readonly MoveEntry[]): Promise<never[]> {
    const exists = await this.deps.store.targetsExist(entries);
    entries.forEach((entry, i) => {
      const places = entry.plan.kind === "move" ? entry.plan.targets.map((t) => `${t.userId}:${t.exchange}:${t.symbol}:${t.side}`) : entry.plan.kind === "rename" ? [entry.key] : [];
      const clash = this.options.overwrite !== true && ((exists[i] ?? []).some(Boolean) || places.some((place) => this.planned.has(place)));
      if (!clash) for (const place of places) this.planned.add(place);
      this.count(entry, clash ? "conflict" : entry.plan.kind === "move" || entry.plan.kind === "rename" ? "moved" : "skipped");
    });
    return [];
  }

  private count(entry: MoveEntry, outcome: Exclude<MoveOutcome, "changed">): void {
    const counts = this.counts[entry.legacy.form];
    const { plan } = entry;
    if (outcome === "moved") {
      counts.moved += 1;
      counts.positions += plan.kind === "move" ? plan.targets.length : 0;
      if (plan.kind === "move") for (const problem of plan.problems) this.report(entry.key, `left in the array: ${problem}`);
    } else if (outcome === "conflict") {
      counts.conflicts += 1;
      this.report(entry.key, "the standard key already exists; left in place");
    } else if (outcome === "failed") {
      counts.failed += 1;
      this.report(entry.key, "changed on every attempt or refused by Redis; left in place for the next run");
    } else if (plan.kind === "invalid") {
      counts.invalid += 1;
      this.report(entry.key, plan.reason);
    }
  }

  private report(key: string, reason: string): void {
    if (this.problems.length < (this.options.maxListed ?? 1000)) this.problems.push({ key, reason });
    else this.problemsLeftOut += 1;
  }
}

/** `--verify`: counts the legacy keys that remain, per form (SCAN only, no values read). */
export async function countLegacyKeys(deps: Pick<MigrateKeysDeps, "store" | "keys">, pageSize: number): Promise<Record<LegacyKeyForm, number>> {
  const counts = Object.fromEntries(legacyKeyForms.map((form) => [form, 0])) as Record<LegacyKeyForm, number>;
  let cursor = "0";
  do {
    const page = await deps.store.scan(cursor, pageSize);
    for (const key of page.keys) {
      const legacy = deps.keys.legacyKeyOf(key);
      if (legacy) counts[legacy.form] += 1;
    }
    cursor = page.cursor;
  } while (cursor !== "0");
  return counts;
}
