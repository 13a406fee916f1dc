import type { Clock } from "../clock";
import { errorMessage } from "../errors";
import type { CredentialsCipher } from "./cipher";
import { parseLegacyEntry, sameCredentials } from "./legacy-entry";
import type { LegacyCredentials } from "./legacy-entry";
import type { SealedCredentials } from "./model";
import type { CredentialsMigrationStore, LegacyCredentialsSource } from "./ports";

export interface MigrateLegacyDeps {
  readonly source: LegacyCredentialsSource;
  readonly store: CredentialsMigrationStore;
  readonly cipher: CredentialsCipher;
  readonly clock: Clock;
}

export interface MigrateLegacyOptions {
  /** Without it nothing is written: the counts say what a run would do. */
  readonly apply: boolean;
  /** With apply: remove the plaintext fields of every hash whose copy in Postgres was read back and matched. */
  readonly deletePlaintext: boolean;
  /** SCAN COUNT (keys examined per round trip). */
  readonly scanCount: number;
  /** Ignore a saved cursor and start from the beginning. */
  readonly restart: boolean;
  /** Stop after this many SCAN pages (the cursor is saved: the next run resumes). */
  readonly maxPages?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((report: MigrationReport) => void) | undefined;
}

/**
 * What happened to each legacy hash (in a dry run, what would):
 * migrated (copied, read back and matched), already_migrated (Postgres holds the same values),
 * plaintext_gone (the hash has no secret fields left: deleted by an earlier --delete-plaintext),
 * conflict (Postgres holds other values: kept, the hash too), no_user (no active user has that
 * okx uid: run import-mappings --from-redis first), invalid (not readable as credentials), failed.
 */
export const legacyOutcomes = ["migrated", "already_migrated", "plaintext_gone", "conflict", "no_user", "invalid", "failed"] as const;
export type LegacyOutcome = (typeof legacyOutcomes)[number];

export interface MigrationProblem {
  readonly key: string;
  readonly outcome: LegacyOutcome;
  readonly reason: string;
}

export interface MigrationReport {
  readonly apply: boolean;
  readonly deletePlaintext: boolean;
  /** The saved cursor this run started from (null: from the beginning). */
  readonly resumedFrom: string | null;
  /** True when the SCAN went all the way round. */
  complete: boolean;
  scanned: number;
  readonly counts: Record<LegacyOutcome, number>;
  /** Hashes whose plaintext fields were removed (with apply), or would be (dry run). */
  plaintextDeleted: number;
  /** Hashes changed between copy and delete: plaintext kept, the next run copies the new values. */
  plaintextChanged: number;
  readonly problems: MigrationProblem[];
}

const MAX_PROBLEMS = 200;

/** A hash that parsed and has a user: what the page decides for it. */
interface Candidate {
  readonly key: string;
  readonly userId: string;
  readonly legacy: LegacyCredentials;
}

function newReport(options: MigrateLegacyOptions, resumedFrom: string | null): MigrationReport {
  const counts = Object.fromEntries(legacyOutcomes.map((outcome) => [outcome, 0])) as Record<LegacyOutcome, number>;
  return { apply: options.apply, deletePlaintext: options.deletePlaintext, resumedFrom, complete: false, scanned: 0, counts, plaintextDeleted: 0, plaintextChanged: 0, problems: [] };
}

function count(report: MigrationReport, key: string, outcome: LegacyOutcome, reason?: string): void {
  report.counts[outcome] += 1;
  if (reason !== undefined && report.problems.length < MAX_PROBLEMS) report.problems.push({ key, outcome, reason });
}

/**
 * migrate-credentials: the legacy plaintext hashes `user:{okx_uid}:api:keys` into
 * exchange_credentials, sealed. SCAN page by page; with apply the cursor is saved after each page
 * so a cut run resumes, and a re-run finds what is done already (already_migrated).
 */
export async function migrateLegacyCredentials(deps: MigrateLegacyDeps, options: MigrateLegacyOptions): Promise<MigrationReport> {
  const resumedFrom = options.apply && !options.restart ? await deps.source.savedCursor() : null;
  const report = newReport(options, resumedFrom);
  const seen = new Set<string>();
  let cursor = resumedFrom ?? "0";
  for (let pages = 0; ; ) {
    const page = await deps.source.scan(cursor, options.scanCount);
    const fresh = page.keys.filter((key) => !seen.has(key));
    for (const key of fresh) seen.add(key);
    await migratePage(deps, options, report, fresh);
    cursor = page.cursor;
    pages += 1;
    if (cursor === "0") break;
    if (options.apply) await deps.source.saveCursor(cursor);
    options.onProgress?.(report);
    if (options.signal?.aborted || (options.maxPages !== undefined && pages >= options.maxPages)) break;
  }
  report.complete = cursor === "0";
  if (report.complete && options.apply) await deps.source.clearCursor();
  options.onProgress?.(report);
  return report;
}

async function migratePage(deps: MigrateLegacyDeps, options: MigrateLegacyOptions, report: MigrationReport, keys: readonly string[]): Promise<void> {
  report.scanned += keys.length;
  if (keys.length === 0) return;
  const candidates = await candidatesOf(deps, report, keys);
  const existing = new Map((await deps.store.findSealed(candidates.map((c) => c.userId), "okx")).map((row) => [row.userId, row]));
  const verified: Candidate[] = [];
  const missing: Candidate[] = [];
  for (const candidate of candidates) {
    const row = existing.get(candidate.userId);
    if (!row) missing.push(candidate);
    else if (compare(deps, report, candidate, row, "already_migrated")) verified.push(candidate);
  }
  verified.push(...(await copyMissing(deps, options, report, missing)));
  if (options.deletePlaintext) await deletePlaintext(deps, options, report, verified);
}

/** Parses the page's hashes and finds their users; counts the ones that go no further. */
async function candidatesOf(deps: MigrateLegacyDeps, report: MigrationReport, keys: readonly string[]): Promise<Candidate[]> {
  const parsed: { key: string; okxUid: string; legacy: LegacyCredentials }[] = [];
  for (const entry of await deps.source.read(keys)) {
    const okxUid = deps.source.okxUidOf(entry.key);
    if (okxUid === null) {
      count(report, entry.key, "invalid", "key does not follow user:{okx_uid}:api:keys");
      continue;
    }
    const result = parseLegacyEntry(entry);
    if (result.ok) parsed.push({ key: entry.key, okxUid, legacy: result.value });
    else if (result.empty) count(report, entry.key, "plaintext_gone");
    else count(report, entry.key, "invalid", result.reason);
  }
  const users = await deps.store.usersByOkxUid(parsed.map((entry) => entry.okxUid));
  const candidates: Candidate[] = [];
  for (const entry of parsed) {
    const userId = users.get(entry.okxUid);
    if (userId) candidates.push({ key: entry.key, userId, legacy: entry.legacy });
    else count(report, entry.key, "no_user", `no active user has okx uid ${entry.okxUid}`);
  }
  return candidates;
}

/** Opens a stored row and counts the hash `outcome` when it holds the same values; true then. */
function compare(deps: MigrateLegacyDeps, report: MigrationReport, candidate: Candidate, row: SealedCredentials, outcome: LegacyOutcome): boolean {
  try {
    if (sameCredentials(deps.cipher.openCredentials(row), candidate.legacy.credentials)) {
      count(report, candidate.key, outcome);
      return true;
    }
    count(report, candidate.key, "conflict", "Postgres holds other credentials for this user (kept; the hash is kept too)");
  } catch (error) {
    count(report, candidate.key, "failed", `the stored row does not open: ${errorMessage(error)}`);
  }
  return false;
}

/** Seals and inserts the missing ones, then reads them back: only a copy that opens to the same values counts as migrated. */
async function copyMissing(deps: MigrateLegacyDeps, options: MigrateLegacyOptions, report: MigrationReport, missing: readonly Candidate[]): Promise<Candidate[]> {
  if (missing.length === 0) return [];
  if (!options.apply) {
    for (const candidate of missing) count(report, candidate.key, "migrated");
    return [...missing];
  }
  const now = deps.clock.now();
  await deps.store.insertMissing(missing.map((candidate) => deps.cipher.sealCredentials(candidate.userId, "okx", candidate.legacy.credentials, now)));
  const stored = new Map((await deps.store.findSealed(missing.map((c) => c.userId), "okx")).map((row) => [row.userId, row]));
  const verified: Candidate[] = [];
  for (const candidate of missing) {
    const row = stored.get(candidate.userId);
    if (!row) count(report, candidate.key, "failed", "not found when read back after the insert");
    else if (compare(deps, report, candidate, row, "migrated")) verified.push(candidate);
  }
  return verified;
}

async function deletePlaintext(deps: MigrateLegacyDeps, options: MigrateLegacyOptions, report: MigrationReport, verified: readonly Candidate[]): Promise<void> {
  if (!options.apply) {
    report.plaintextDeleted += verified.length;
    return;
  }
  const removed = await deps.source.deletePlaintext(verified.map((candidate) => ({ key: candidate.key, expected: candidate.legacy.plaintextFields })));
  for (const done of removed) {
    if (done) report.plaintextDeleted += 1;
    else report.plaintextChanged += 1;
  }
}
