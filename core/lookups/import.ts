import * as z from "zod/mini";
import type { IdGenerator } from "../clock";
import { ConflictError } from "../errors";
import { telegramIdMisreadProblem } from "./identifier";
import type { OutboxDeliveryDeps } from "../outbox/delivery";
import { deliverInvalidation } from "./invalidation";
import type { Mapping } from "./model";
import type { LookupCache, MappingInput, MappingRepository } from "./ports";
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
 * does not matter. A real run then upserts (source "import") and invalidates the lookup cache of
 * the old and the new state (write-through, as the admin API does).
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

export interface ImportReport {
  readonly dryRun: boolean;
  /** Records read from the source; every one of them is in exactly one of the counts. */
  readonly records: number;
  /** In a dry run: what a real run would do. */
  readonly counts: ImportCounts;
  /** Rows repeating another row of the input exactly; counted as unchanged. */
  readonly duplicates: number;
  /** Conflicting and invalid rows with their reasons, in input order. */
  readonly problems: readonly ImportProblem[];
  /**
   * Written mappings whose cache entries could not be invalidated at once: their invalidations stay
   * in the outbox (delivered by the drain), and lookups do not trust those entries meanwhile.
   */
  readonly cacheFailures: readonly CacheFailure[];
}

export type ImportPhase = "read" | "plan" | "write";

export interface ImportProgress {
  readonly phase: ImportPhase;
  readonly done: number;
  /** null while reading: sources do not know their length. */
  readonly total: number | null;
}

export interface ImportDeps {
  readonly repository: MappingRepository;
  /** Takes the invalidations each write owes (its failures are reported, so not a resilient cache). */
  readonly cache: LookupCache;
  /** Where the outbox rows of those invalidations are deleted once delivered, or rescheduled. */
  readonly outbox: OutboxDeliveryDeps;
  readonly ids: IdGenerator;
}

export interface ImportInput {
  readonly records: AsyncIterable<ImportRecord> | Iterable<ImportRecord>;
  readonly dryRun: boolean;
  readonly onProgress?: ((progress: ImportProgress) => void) | undefined;
  /** Database round trips in flight at once while planning and writing. */
  readonly concurrency?: number | undefined;
}

const DEFAULT_CONCURRENCY = 8;

const candidateSchema = z.object({
  userId: z.optional(userIdSchema),
  telegramId: telegramIdSchema,
  okxUid: z.optional(z.nullable(okxUidSchema)),
  isActive: z.optional(z.boolean()),
});

interface Row {
  readonly index: number;
  readonly origin: string;
  readonly userId: string | undefined;
  readonly telegramId: string;
  readonly okxUid: string | null | undefined;
  readonly isActive: boolean | undefined;
}

/** Rows of the input that describe one user, merged. */
interface Group {
  readonly rows: readonly Row[];
  readonly userId: string | undefined;
  readonly telegramId: string;
  readonly okxUid: string | null | undefined;
  readonly isActive: boolean | undefined;
}

type Plan =
  | { readonly kind: "conflict"; readonly reason: string }
  | {
      readonly kind: "write";
      /** null: a new user, its id drawn when written. */
      readonly target: string | null;
      readonly mapping: Omit<MappingInput, "userId">;
      readonly outcome: "inserted" | "updated" | "unchanged";
    };

export function isUnreadable(record: ImportRecord): record is UnreadableRecord {
  return "unreadable" in record;
}

export async function importMappings(deps: ImportDeps, input: ImportInput): Promise<ImportReport> {
  const progress = input.onProgress ?? (() => undefined);
  const concurrency = Math.max(1, input.concurrency ?? DEFAULT_CONCURRENCY);
  const counts: ImportCounts = { inserted: 0, updated: 0, unchanged: 0, conflicting: 0, invalid: 0 };
  const problems: (ImportProblem & { readonly index: number })[] = [];
  const cacheFailures: CacheFailure[] = [];

  // 1. Read and validate everything: in-input conflicts need the whole input.
  const rows: Row[] = [];
  let records = 0;
  for await (const record of input.records) {
    const index = records++;
    const checked = validate(record);
    if (typeof checked === "string") {
      counts.invalid += 1;
      problems.push({ index, kind: "invalid", origin: record.origin, reason: checked });
    } else {
      rows.push({ index, origin: record.origin, ...checked });
    }
    progress({ phase: "read", done: records, total: null });
  }

  const conflict = (rowsInConflict: readonly Row[], reason: string) => {
    counts.conflicting += rowsInConflict.length;
    for (const row of rowsInConflict) problems.push({ index: row.index, kind: "conflicting", origin: row.origin, reason });
  };

  const groups: Group[] = [];
  for (const rowsOfUser of groupRows(rows)) {
    const merged = merge(rowsOfUser);
    if (typeof merged === "string") {
      conflict(rowsOfUser, merged);
    } else {
      groups.push(merged);
    }
  }

  // 2. Decide every group against the database as it is now.
  const plans: Plan[] = new Array<Plan>(groups.length);
  let planned = 0;
  progress({ phase: "plan", done: 0, total: groups.length });
  await forEachLimit(groups, concurrency, async (group, i) => {
    plans[i] = await plan(deps.repository, group);
    progress({ phase: "plan", done: ++planned, total: groups.length });
  });

  const claims = new Map<string, number[]>();
  plans.forEach((p, i) => {
    if (p.kind === "write" && p.target !== null) claims.set(p.target, [...(claims.get(p.target) ?? []), i]);
  });
  for (const [userId, claimants] of claims) {
    if (claimants.length < 2) continue;
    const origins = claimants.flatMap((i) => groups[i]?.rows.map((row) => row.origin) ?? []);
    for (const i of claimants) plans[i] = { kind: "conflict", reason: `several input rows resolve to user ${userId}: ${list(origins)}` };
  }

  // 3. Count (dry run) or write (real run). Repeats of a row count as unchanged.
  let duplicates = 0;
  const settled = (group: Group, outcome: Exclude<ImportOutcome, "conflicting" | "invalid">) => {
    counts[outcome] += 1;
    counts.unchanged += group.rows.length - 1;
    duplicates += group.rows.length - 1;
  };
  const writes: { group: Group; plan: Extract<Plan, { kind: "write" }> }[] = [];
  groups.forEach((group, i) => {
    const p = plans[i];
    if (!p) throw new Error("unreachable: a group was not planned");
    if (p.kind === "conflict") conflict(group.rows, p.reason);
    // Unchanged rows are not written: the upsert would change nothing and invalidate nothing.
    else if (input.dryRun || p.outcome === "unchanged") settled(group, p.outcome);
    else writes.push({ group, plan: p });
  });

  let written = 0;
  if (writes.length > 0) progress({ phase: "write", done: 0, total: writes.length });
  await forEachLimit(writes, concurrency, async ({ group, plan: p }) => {
    const origin = group.rows[0]?.origin ?? "";
    const userId = p.target ?? deps.ids.uuid();
    try {
      const change = await deps.repository.upsert({ userId, ...p.mapping }, "import");
      settled(group, change.previous === null ? "inserted" : change.changed ? "updated" : "unchanged");
      const delivery = await deliverInvalidation({ outbox: deps.outbox, cache: { invalidateOrThrow: (ids) => deps.cache.invalidate(ids) } }, change.invalidation);
      if (!delivery.delivered) cacheFailures.push({ origin, userId, reason: delivery.reason ?? "not delivered" });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw new Error(`import stopped at ${origin}: ${message(error)}`, { cause: error });
      conflict(group.rows, error.message);
    }
    progress({ phase: "write", done: ++written, total: writes.length });
  });

  return {
    dryRun: input.dryRun,
    records,
    counts,
    duplicates,
    problems: problems.sort((a, b) => a.index - b.index).map(({ kind, origin, reason }) => ({ kind, origin, reason })),
    cacheFailures,
  };
}

/** The row in canonical form, or why it is invalid. */
function validate(record: ImportRecord): Omit<Row, "index" | "origin"> | string {
  if (isUnreadable(record)) return record.unreadable;
  if (typeof record.telegramId === "string" && record.telegramId.trim() === "") return "telegramId is missing";
  const result = candidateSchema.safeParse({
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

/** Rows sharing a telegram id, okx uid or user id (transitively), in input order. */
function groupRows(rows: readonly Row[]): Row[][] {
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root) as string;
    let node = key;
    while (node !== root) {
      const next = parent.get(node) as string;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent.set(rb, ra);
  };
  const keysOf = (row: Row) => [
    `t:${row.telegramId}`,
    ...(typeof row.okxUid === "string" ? [`x:${row.okxUid}`] : []),
    ...(row.userId ? [`u:${row.userId}`] : []),
  ];
  for (const row of rows) {
    const [first, ...rest] = keysOf(row);
    if (first === undefined) continue;
    if (!parent.has(first)) parent.set(first, first);
    for (const key of rest) {
      if (!parent.has(key)) parent.set(key, key);
      union(first, key);
    }
  }
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const root = find(`t:${row.telegramId}`);
    groups.set(root, [...(groups.get(root) ?? []), row]);
  }
  return [...groups.values()];
}

/** One user's rows merged into one, or why they contradict each other. */
function merge(rows: readonly Row[]): Group | string {
  const fields = [
    ["telegramId", (row: Row) => row.telegramId],
    ["okxUid", (row: Row) => row.okxUid],
    ["userId", (row: Row) => row.userId],
    ["isActive", (row: Row) => row.isActive],
  ] as const;
  for (const [name, read] of fields) {
    const byValue = new Map<string, string[]>();
    for (const row of rows) {
      const value = read(row);
      if (value === undefined) continue;
      const shown = value === null ? "null" : String(value);
      byValue.set(shown, [...(byValue.get(shown) ?? []), row.origin]);
    }
    if (byValue.size > 1) {
      const claims = [...byValue].map(([value, origins]) => `${value} (${list(origins)})`);
      return `input rows for the same user disagree on ${name}: ${claims.join(" vs ")}`;
    }
  }
  const first = <T>(read: (row: Row) => T | undefined): T | undefined => rows.map(read).find((value) => value !== undefined);
  return {
    rows,
    telegramId: rows[0]?.telegramId ?? "",
    okxUid: first((row) => row.okxUid),
    userId: first((row) => row.userId),
    isActive: first((row) => row.isActive),
  };
}

async function plan(repository: MappingRepository, group: Group): Promise<Plan> {
  const { telegramId, okxUid } = group;
  const [byTelegram, byOkx, byUser] = await Promise.all([
    repository.search({ telegramId }),
    typeof okxUid === "string" ? repository.search({ okxUid }) : Promise.resolve([]),
    group.userId ? repository.getByUserId(group.userId) : Promise.resolve(null),
  ]);

  let existing: Mapping | null = null;
  let target: string | null = null;
  if (group.userId) {
    target = group.userId;
    existing = byUser;
  } else if (byOkx[0]) {
    existing = byOkx[0];
    target = existing.userId;
  } else {
    const owner = byTelegram.find((m) => m.isActive) ?? byTelegram[0];
    if (owner) {
      if (typeof okxUid === "string" && owner.okxUid !== null && owner.okxUid !== okxUid) {
        return {
          kind: "conflict",
          reason: `telegramId ${telegramId} is mapped to user ${owner.userId} with another okxUid; give user_id to change it`,
        };
      }
      existing = owner;
      target = owner.userId;
    }
  }

  const mapping = {
    telegramId,
    okxUid: okxUid === undefined ? (existing?.okxUid ?? null) : okxUid,
    isActive: group.isActive ?? existing?.isActive ?? true,
  };
  const telegramOwner = byTelegram.find((m) => m.userId !== target);
  if (telegramOwner) {
    return { kind: "conflict", reason: `telegramId ${telegramId} already belongs to user ${telegramOwner.userId}` };
  }
  const okxOwner = typeof okxUid === "string" ? byOkx.find((m) => m.userId !== target) : undefined;
  if (okxOwner) return { kind: "conflict", reason: `okxUid ${okxUid} already belongs to user ${okxOwner.userId}` };

  const outcome =
    existing === null
      ? "inserted"
      : existing.telegramId === mapping.telegramId && existing.okxUid === mapping.okxUid && existing.isActive === mapping.isActive
        ? "unchanged"
        : "updated";
  return { kind: "write", target, mapping, outcome };
}

/** Runs `work` over the items with at most `limit` in flight; the first failure stops new work. */
async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function list(origins: readonly string[], max = 3): string {
  const shown = origins.slice(0, max).join(", ");
  return origins.length > max ? `${shown} and ${origins.length - max} more` : shown;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
