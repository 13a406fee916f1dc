import * as z from "zod/mini";
import { randomIds } from "../clock";
import type { IdGenerator } from "../clock";
import { ConflictError, errorMessage } from "../errors";
import { outboxBackoffMs, settle } from "../outbox/delivery";
import type { OutboxDeliveryDeps } from "../outbox/delivery";
import type { OutboxMessage } from "../outbox/model";
import { telegramIdMisreadProblem } from "./identifier";
import { inLanes } from "./import-lanes";
import { identifiersIn, uniqueIdentifiers } from "./invalidation";
import type { OwedInvalidationCache } from "./invalidation";
import type { ImportWindow, ImportWrite, ImportWritten, MappingImportStore, MappingRepository, StagedImportRow } from "./ports";
import { lazy } from "../validation/lazy";
import { okxUidSchema, telegramIdSchema, userIdSchema } from "./schemas";

/**
 * Bulk import of identifier mappings (system A's "bulk import of existing mappings"), from any
 * source that yields candidate rows (see import-sources.ts for JSONL, CSV and the old Redis layout).
 *
 * The rules, chosen so that an import converges (a second run reports everything unchanged) and
 * never takes an identifier away from someone:
 * - every row is validated; a bad row is counted `invalid` with the reason and skipped;
 * - rows that share a telegram id, okx uid or user id describe one user; when they disagree on any
 *   field (one telegram id claimed by two okx uids, one okx uid given two telegram ids, ...) every
 *   one of them is `conflicting` and none is written, whatever their order;
 * - a row without a user id belongs to the user already mapped to its okx uid, else to its telegram
 *   id, else to a new user (`ids.uuid()`). A telegram id already mapped to a *different* okx uid is
 *   a conflict, not an update: moving an account needs an explicit user id;
 * - an identifier owned by another user is a conflict (the repository's ConflictError in a real
 *   run), reported and never overwritten; two input groups resolving to the same user are too;
 * - an absent okx uid / is_active keeps what is stored (a new user gets none / active); an explicit
 *   null okx uid clears it.
 * All of that is decided against the database as it was before the first write, so the dry run
 * predicts exactly what a real run does (barring concurrent writers), and the order of the rows
 * does not matter.
 *
 * At scale: the input is streamed into scratch tables (MappingImportStore) one batch at a time, so
 * memory stays flat whatever its size, and the checks that need the whole input run in SQL there;
 * so does the plan, set-based, one window of `batchSize` input positions per round trip. A real
 * run then writes one transaction per window, read from the scratch tables (two windows in flight:
 * they never share an identifier nor a user): the mappings (source "import") and,
 * in the same transaction, one outbox row per changed mapping with the lookup invalidation it owes
 * (core/lookups/invalidation.ts), delivered right after the commit; a run killed between the two
 * leaves the invalidation in the outbox, for the drain, never a stale cached answer. A stop
 * request is honoured between batches: what was written is whole, the rest untouched.
 */

/** One row offered by a source. `origin` says where it came from (`file:line`, a Redis key). */
export interface ImportCandidate {
  readonly userId?: string | undefined;
  readonly telegramId: string;
  /** undefined: keep what is stored; null: clear. */
  readonly okxUid?: string | null | undefined;
  /** undefined: keep what is stored (new users are active). */
  readonly isActive?: boolean | undefined;
  readonly origin: string;
}

/** A record a source could not read as a candidate (bad JSON, hash without telegram_id, ...). */
export interface UnreadableRecord {
  readonly origin: string;
  readonly unreadable: string;
}

export type ImportRecord = ImportCandidate | UnreadableRecord;

export const importOutcomes = ["inserted", "updated", "unchanged", "conflicting", "invalid"] as const;
export type ImportOutcome = (typeof importOutcomes)[number];
export type ImportCounts = Record<ImportOutcome, number>;

export interface ImportProblem {
  readonly kind: "conflicting" | "invalid";
  readonly origin: string;
  readonly reason: string;
}

export interface CacheFailure {
  readonly origin: string;
  readonly userId: string;
  readonly reason: string;
}

export type ImportPhase = "read" | "plan" | "write";

export interface ImportReport {
  readonly dryRun: boolean;
  /** Records read from the source; unless interrupted, every one of them is in exactly one of the counts. */
  readonly records: number;
  /** In a dry run: what a real run would do. */
  readonly counts: ImportCounts;
  /** Rows repeating another row of the input exactly; counted as unchanged. */
  readonly duplicates: number;
  /** Conflicting and invalid rows with their reasons, in input order (the first `maxProblems`). */
  readonly problems: readonly ImportProblem[];
  /** Problems beyond `maxProblems`, counted but not listed. */
  readonly problemsOmitted: number;
  /**
   * Written mappings whose cache entries could not be invalidated at once: their invalidations stay
   * in the outbox (delivered by the drain), and lookups do not trust those entries meanwhile.
   */
  readonly cacheFailures: readonly CacheFailure[];
  /** Cache failures beyond `maxProblems`, counted but not listed (a long Redis outage keeps memory flat). */
  readonly cacheFailuresOmitted: number;
  /** Set when a stop was requested: the phase it stopped in and the planned writes not made. */
  readonly interrupted: { readonly phase: ImportPhase; readonly notWritten: number } | null;
}

export interface ImportProgress {
  readonly phase: ImportPhase;
  readonly done: number;
  /** null while reading: sources do not know their length. */
  readonly total: number | null;
}

export interface ImportDeps {
  /** The mappings themselves (single writes next to an import: tests, sync). */
  readonly repository: MappingRepository;
  /** Takes the invalidations each batch owes (a failed delivery is reported and its outbox row kept, not hidden). */
  readonly cache: OwedInvalidationCache;
  /** Where those invalidations' outbox rows are deleted once delivered, or rescheduled. */
  readonly outbox: OutboxDeliveryDeps;
  readonly store: MappingImportStore;
  /** New users' ids. */
  readonly ids: IdGenerator;
  /** The import run's own id (scratch rows); not drawn from `ids`, so a dry run draws no user id. */
  readonly runIds?: IdGenerator | undefined;
}

export interface ImportInput {
  readonly records: AsyncIterable<ImportRecord> | Iterable<ImportRecord>;
  readonly dryRun: boolean;
  readonly onProgress?: ((progress: ImportProgress) => void) | undefined;
  /** Rows staged, planned and written per round trip / transaction. */
  readonly batchSize?: number | undefined;
  /** Problems listed in the report at most (the others are counted). */
  readonly maxProblems?: number | undefined;
  /** Asked between batches; true stops the import there with the report so far. */
  readonly shouldStop?: (() => boolean) | undefined;
}

export const DEFAULT_IMPORT_BATCH = 1_000;
/**
 * Batches in flight at once in each phase: two keep the database busy with one while this
 * process sends or reads the other. Windows are disjoint (no two groups share an identifier or
 * a target user once planned), so concurrent ones never wait on each other's locks.
 */
const IMPORT_LANES = 2;
const DEFAULT_MAX_PROBLEMS = 10_000;

const candidateSchema = /* @__PURE__ */ lazy(() => z.object({
  userId: z.optional(userIdSchema()),
  telegramId: telegramIdSchema(),
  okxUid: z.optional(z.nullable(okxUidSchema())),
  isActive: z.optional(z.boolean()),
}));

type Problem = ImportProblem & { readonly idx: number };

/** What an import run keeps in memory: counts, and at most `maxProblems` problems. */
interface Run {
  readonly deps: ImportDeps;
  readonly input: ImportInput;
  readonly importId: string;
  readonly batchSize: number;
  readonly maxProblems: number;
  readonly progress: (progress: ImportProgress) => void;
  readonly stop: () => boolean;
  readonly counts: ImportCounts;
  readonly problems: Problem[];
  readonly cacheFailures: CacheFailure[];
  cacheFailureCount: number;
  records: number;
  duplicates: number;
  problemCount: number;
  /** The last batch's invalidation on its way to Redis. */
  delivering: Promise<void>;
  /** Outbox rows delivered and not deleted yet. */
  readonly delivered: string[];
}

export function isUnreadable(record: ImportRecord): record is UnreadableRecord {
  return "unreadable" in record;
}

export async function importMappings(deps: ImportDeps, input: ImportInput): Promise<ImportReport> {
  const run = startRun(deps, input);
  await deps.store.purgeAbandoned();
  try {
    if (!(await stageInput(run))) return report(run, { phase: "read", notWritten: 0 });
    if (!(await planInput(run))) return report(run, { phase: "plan", notWritten: 0 });
    const planned = await deps.store.plannedCounts(run.importId);
    run.counts.conflicting += planned.conflicting;
    // Repeats of a row count as unchanged.
    run.counts.unchanged += planned.unchanged + planned.duplicates;
    run.duplicates += planned.duplicates;
    await addConflictProblems(run, planned.conflicting);
    if (input.dryRun) {
      run.counts.inserted += planned.inserted;
      run.counts.updated += planned.updated;
      return report(run, null);
    }
    const notWritten = await writePlanned(run, planned.inserted + planned.updated).finally(() => run.delivering.then(() => forgetDelivered(run)));
    return report(run, notWritten === null ? null : { phase: "write", notWritten });
  } finally {
    await deps.store.drop(run.importId);
  }
}

function startRun(deps: ImportDeps, input: ImportInput): Run {
  return {
    deps,
    input,
    importId: (deps.runIds ?? randomIds).uuid(),
    batchSize: Math.max(1, input.batchSize ?? DEFAULT_IMPORT_BATCH),
    maxProblems: Math.max(0, input.maxProblems ?? DEFAULT_MAX_PROBLEMS),
    progress: input.onProgress ?? (() => undefined),
    stop: input.shouldStop ?? (() => false),
    counts: { inserted: 0, updated: 0, unchanged: 0, conflicting: 0, invalid: 0 },
    problems: [],
    cacheFailures: [],
    cacheFailureCount: 0,
    records: 0,
    duplicates: 0,
    problemCount: 0,
    delivering: Promise.resolve(),
    delivered: [],
  };
}

/** Step 1: reads and validates the input, staging valid rows one batch at a time. False: stopped. */
async function stageInput(run: Run): Promise<boolean> {
  const staging = new Staging(run);
  try {
    for await (const record of run.input.records) {
      const idx = run.records++;
      const checked = validate(record);
      if (typeof checked === "string") {
        run.counts.invalid += 1;
        noteProblem(run, { idx, kind: "invalid", origin: record.origin, reason: checked });
      } else {
        staging.add({ idx, origin: record.origin, ...checked });
      }
      if (staging.full() && !(await staging.flush())) return false;
    }
    await staging.flush();
    await staging.settled();
    run.progress({ phase: "read", done: run.records, total: null });
    return true;
  } finally {
    await staging.settled().catch(() => undefined);
  }
}

/** Batches of staged rows, sent while the next ones are read (at most IMPORT_LANES round trips in flight). */
class Staging {
  private batch: StagedImportRow[] = [];
  private readonly inFlight: Promise<void>[] = [];

  constructor(private readonly run: Run) {}

  add(row: StagedImportRow): void {
    this.batch.push(row);
  }

  full(): boolean {
    return this.batch.length >= this.run.batchSize;
  }

  /** Sends the batch; false when a stop was requested (after the batches sent so far landed). */
  async flush(): Promise<boolean> {
    if (this.inFlight.length >= IMPORT_LANES) await this.inFlight.shift();
    const rows = this.batch;
    this.batch = [];
    const sending = this.run.deps.store.stage(this.run.importId, rows);
    // Awaited later (at a flush or at the end); until then, a failure must not count as unhandled.
    sending.catch(() => undefined);
    this.inFlight.push(sending);
    this.run.progress({ phase: "read", done: this.run.records, total: null });
    if (!this.run.stop()) return true;
    await this.settled();
    return false;
  }

  /** Every batch sent has landed (or the first failure). */
  async settled(): Promise<void> {
    const sent = this.inFlight.splice(0);
    const results = await Promise.allSettled(sent);
    for (const result of results) if (result.status === "rejected") throw result.reason;
  }
}

/**
 * Step 2: groups rows per user and checks them against each other, then plans them against the
 * database in SQL, one window of input positions per round trip. False: stopped.
 */
async function planInput(run: Run): Promise<boolean> {
  const { store } = run.deps;
  const total = await store.groupAndCheckInput(run.importId);
  let done = 0;
  run.progress({ phase: "plan", done, total });
  const planWindow = async (from: number) => {
    done += await store.plan(run.importId, from, from + run.batchSize);
    run.progress({ phase: "plan", done, total });
  };
  if (!(await inLanes(windowStarts(run.records, run.batchSize), IMPORT_LANES, planWindow, run.stop))) return false;
  await store.checkClaims(run.importId);
  run.progress({ phase: "plan", done: total, total });
  return true;
}

/** Windows of input positions whose planned writes are listed per round trip (a million rows' worth). */
const WINDOWS_PER_LISTING = 1_000;

/** Step 3 (real run): the planned writes, one transaction per window of input positions. Returns the writes not made when stopped, else null. */
async function writePlanned(run: Run, total: number): Promise<number | null> {
  let done = 0;
  if (total > 0) run.progress({ phase: "write", done, total });
  const span = run.batchSize * WINDOWS_PER_LISTING;
  const write = async (window: ImportWindow) => {
    await writeWindow(run, window);
    done += window.writes;
    run.progress({ phase: "write", done, total });
  };
  const stop = () => done < total && run.stop();
  for (let from = 0; from < run.records && done < total; from += span) {
    const windows = await run.deps.store.writeWindows(run.importId, run.batchSize, from, from + span);
    if (!(await inLanes(windows, IMPORT_LANES, write, stop))) return total - done;
  }
  return null;
}

/** One window in one transaction; a unique index refusing one of its writes makes each its own transaction, to name it. */
async function writeWindow(run: Run, window: ImportWindow): Promise<void> {
  const freshIds = Array.from({ length: window.fresh }, () => run.deps.ids.uuid());
  try {
    await commitAndDeliver(run, window.from, window.to, freshIds);
    return;
  } catch (error) {
    if (!(error instanceof ConflictError)) throw stopped(error, `the batch of input rows ${window.from + 1}-${window.to}`);
  }
  let nextFresh = 0;
  for (const write of await run.deps.store.writes(run.importId, window.from, window.to)) {
    const ids = write.fresh ? freshIds.slice(nextFresh, ++nextFresh) : [];
    try {
      await commitAndDeliver(run, write.firstIdx, write.firstIdx + 1, ids);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw stopped(error, write.origin);
      refused(run, write, error);
    }
  }
}

/** A planned write the database refused (an identifier claimed by a row the plan could not see, e.g. an app user without a mapping). */
function refused(run: Run, write: ImportWrite, error: ConflictError): void {
  run.counts.conflicting += write.rowCount;
  run.counts.unchanged -= write.rowCount - 1;
  run.duplicates -= write.rowCount - 1;
  noteProblem(run, { idx: write.firstIdx, kind: "conflicting", origin: write.origin, reason: error.message });
}

/**
 * Commits the planned writes of [from, to); their invalidation is delivered after the ones
 * committed before, while the next windows are written (one delivery in flight, one waiting).
 */
async function commitAndDeliver(run: Run, from: number, to: number, freshIds: readonly string[]): Promise<void> {
  const { written, invalidations } = await run.deps.store.writeWindow(run.importId, from, to, freshIds);
  for (const { inserted, changed } of written) run.counts[inserted ? "inserted" : changed ? "updated" : "unchanged"] += 1;
  const before = run.delivering;
  run.delivering = before.then(() => deliver(run, invalidations, written.filter((entry) => entry.changed)));
  await before;
}

/** The start of each window of `size` input positions among `records`. */
function* windowStarts(records: number, size: number): Generator<number> {
  for (let from = 0; from < records; from += size) yield from;
}

/**
 * Delivered outbox rows are deleted this many at a time, in one round trip (well within the
 * writer's grace: a drain does not take them meanwhile). A row a crash leaves is delivered again
 * by the drain: one more tombstone, harmless.
 */
const FORGET_DELIVERED_EVERY = 8;

/**
 * A batch's invalidation, after its commit, in one cache round trip (one script call); what Redis
 * does not take stays in the outbox, where the drain delivers it with the topic's handler. Never throws.
 */
async function deliver(run: Run, messages: readonly OutboxMessage[], changed: readonly ImportWritten[]): Promise<void> {
  if (messages.length === 0) return;
  try {
    await run.deps.cache.invalidateOrThrow(uniqueIdentifiers(messages.flatMap((message) => identifiersIn(message))));
  } catch (error) {
    const reason = errorMessage(error);
    await settle(run.deps.outbox, [], messages.map((message) => ({ id: message.id, reason, delayMs: outboxBackoffMs(1) })));
    for (const write of changed) {
      run.cacheFailureCount += 1;
      if (run.cacheFailures.length < run.maxProblems) run.cacheFailures.push({ origin: write.origin, userId: write.userId, reason });
    }
    return;
  }
  run.delivered.push(...messages.map((message) => message.id));
  if (run.delivered.length >= FORGET_DELIVERED_EVERY) await forgetDelivered(run);
}

/** Deletes the outbox rows delivered so far (never throws: a row left is only delivered again). */
async function forgetDelivered(run: Run): Promise<void> {
  await settle(run.deps.outbox, run.delivered.splice(0), []);
}

function stopped(error: unknown, origin: string | undefined): Error {
  return new Error(`import stopped at ${origin ?? "?"}: ${errorMessage(error)}`, { cause: error });
}

/** Conflicting rows decided in the plan, listed with the invalid ones (in input order, at most maxProblems). */
async function addConflictProblems(run: Run, conflicting: number): Promise<void> {
  const conflicts = await run.deps.store.conflicts(run.importId, run.maxProblems);
  for (const { idx, origin, reason } of conflicts) run.problems.push({ idx, kind: "conflicting", origin, reason });
  run.problemCount += conflicting;
  trimProblems(run);
}

/** Keeps memory bounded: the list is cut back to the first maxProblems (by input position) when it doubles. */
function noteProblem(run: Run, problem: Problem): void {
  run.problemCount += 1;
  run.problems.push(problem);
  if (run.problems.length > run.maxProblems * 2) trimProblems(run);
}

function trimProblems(run: Run): void {
  run.problems.sort((a, b) => a.idx - b.idx);
  run.problems.length = Math.min(run.problems.length, run.maxProblems);
}

function report(run: Run, interrupted: ImportReport["interrupted"]): ImportReport {
  trimProblems(run);
  return {
    dryRun: run.input.dryRun,
    records: run.records,
    counts: run.counts,
    duplicates: run.duplicates,
    problems: run.problems.map(({ kind, origin, reason }) => ({ kind, origin, reason })),
    problemsOmitted: Math.max(0, run.problemCount - run.problems.length),
    cacheFailures: run.cacheFailures,
    cacheFailuresOmitted: run.cacheFailureCount - run.cacheFailures.length,
    interrupted,
  };
}

/** The row in canonical form, or why it is invalid. */
function validate(record: ImportRecord): Omit<StagedImportRow, "idx" | "origin"> | string {
  if (isUnreadable(record)) return record.unreadable;
  if (typeof record.telegramId === "string" && record.telegramId.trim() === "") return "telegramId is missing";
  const result = candidateSchema().safeParse({
    userId: record.userId,
    telegramId: record.telegramId,
    okxUid: record.okxUid,
    isActive: record.isActive,
  });
  if (!result.success) {
    return result.error.issues.map((issue) => `${issue.path.join(".") || "row"}: ${issue.message}`).join("; ");
  }
  const { userId, telegramId, okxUid, isActive } = result.data;
  const misread = telegramIdMisreadProblem(telegramId);
  if (misread) return `telegramId: ${misread}`;
  return { userId, telegramId, okxUid, isActive };
}
