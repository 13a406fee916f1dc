import { UnprocessableError, errorMessage } from "../errors";
import type { UserDirectory } from "../identity/user-ref";
import { isUuid } from "../identity/uuid";
import { isSettingsType } from "./model";
import type { SettingsDocument, SettingsType } from "./model";
import type { ExportedSettings, SettingsStore } from "./ports";
import { parseSettingsDocument } from "./schemas";
import { writeValidated } from "./write-settings";
import type { SettingsWriteDeps } from "./write-settings";

/** One line of a backup file: what export-settings writes and import-settings reads. */
export function backupLine(row: ExportedSettings): string {
  return JSON.stringify({ userId: row.userId, okxUid: row.okxUid, type: row.type, version: row.version, settings: row.settings, updatedAt: row.updatedAt.toISOString() });
}

/** Every current document (of one user with `okxUid`), in pages, as backup lines. Never credentials. */
export async function* exportSettings(deps: { readonly store: SettingsStore }, options: { readonly okxUid: string | null; readonly pageSize: number }): AsyncGenerator<ExportedSettings> {
  let after: { userId: string; type: SettingsType } | null = null;
  for (;;) {
    const page = await deps.store.exportPage({ after, limit: options.pageSize, okxUid: options.okxUid });
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < options.pageSize) return;
    after = { userId: last.userId, type: last.type };
  }
}

export interface ImportDeps {
  /** Not needed for a dry run (which touches neither Postgres' rows nor Redis). */
  readonly write: SettingsWriteDeps | null;
  readonly directory: UserDirectory;
}

export interface ImportReport {
  readonly dryRun: boolean;
  readonly lines: number;
  /** Written as new versions (source `restore`), or that would be on a dry run. */
  readonly written: number;
  readonly rejects: readonly { readonly line: number; readonly reason: string }[];
}

interface ValidLine {
  readonly userId: string;
  readonly type: SettingsType;
  readonly settings: SettingsDocument;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function problemText(error: unknown): string {
  return error instanceof UnprocessableError ? error.issues.map((issue) => `${issue.field}: ${issue.message}`).join("; ") : errorMessage(error);
}

/** A backup line to a write: valid JSON, a known type, a valid document, an active user (by id, else by OKX UID). */
async function validateLine(deps: ImportDeps, text: string): Promise<ValidLine> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new Error("not valid JSON");
  }
  if (!isRecord(parsed)) throw new Error("not a JSON object");
  const { userId, okxUid, type, settings } = parsed;
  if (typeof type !== "string" || !isSettingsType(type)) throw new Error("type must be preferences, params or dual_side");
  const document = parseSettingsDocument(type, settings, "settings");
  const byId = typeof userId === "string" && isUuid(userId) ? await deps.directory.activeUserId(userId.toLowerCase()) : null;
  const owner = byId ?? (typeof okxUid === "string" ? await deps.directory.userIdByOkxUid(okxUid) : null);
  if (!owner) throw new Error("no active user with this userId or okxUid");
  return { userId: owner, type, settings: document };
}

function requireWriter(deps: ImportDeps): SettingsWriteDeps {
  if (!deps.write) throw new Error("import-settings: no writer configured (only a dry run can run without one)");
  return deps.write;
}

/**
 * Restores backup lines: each is validated like an API write and written as a new version with
 * source `restore` (its fast copy refreshed); rejected lines are reported by number and the others
 * still imported. A dry run validates everything and writes nothing.
 */
export async function importSettings(deps: ImportDeps, input: { readonly lines: AsyncIterable<string>; readonly dryRun: boolean; readonly actor: string; readonly onLine?: (line: number) => void }): Promise<ImportReport> {
  let number = 0;
  let written = 0;
  const rejects: { line: number; reason: string }[] = [];
  for await (const text of input.lines) {
    number += 1;
    input.onLine?.(number);
    if (text.trim() === "") continue;
    try {
      const line = await validateLine(deps, text);
      if (!input.dryRun) await writeValidated(requireWriter(deps), { ...line, expectedVersion: null, actor: input.actor, source: "restore" });
      written += 1;
    } catch (error) {
      rejects.push({ line: number, reason: problemText(error) });
    }
  }
  return { dryRun: input.dryRun, lines: number, written, rejects };
}
