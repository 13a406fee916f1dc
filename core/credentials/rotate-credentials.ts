import { CredentialDecryptionError } from "./errors";
import type { CredentialsCipher } from "./cipher";
import type { CredentialsStore, ResealedRow, RowCursor } from "./ports";

export interface RotateCredentialsDeps {
  readonly store: CredentialsStore;
  readonly cipher: CredentialsCipher;
}

export interface RotateCredentialsOptions {
  /** Rows read and written per round trip. */
  readonly batch: number;
  /** Opens every row (so failures show) and writes nothing. */
  readonly dryRun: boolean;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((report: RotationReport) => void) | undefined;
}

export interface RotationFailure {
  readonly userId: string;
  readonly exchange: string;
  readonly keyId: string;
  readonly problem: string;
}

export interface RotationReport {
  readonly dryRun: boolean;
  readonly currentKeyId: string;
  /** Rows not under the current key when the run started (per key id). */
  readonly before: Readonly<Record<string, number>>;
  /** How many rows were not under the current key when the run started. */
  readonly total: number;
  examined: number;
  /** Re-sealed with the current key (with dryRun: would be). */
  resealed: number;
  /** Changed by a writer between read and write (already under the current key then): left as the writer left it. */
  changedMeanwhile: number;
  readonly failed: RotationFailure[];
  /** False when the run was interrupted (run it again: done rows are not read twice). */
  complete: boolean;
}

/**
 * rotate-credentials: re-seals every row not sealed with the current key, a batch per round trip.
 * A row is written only if it is still exactly as read (a PUT meanwhile wins). Resumable without
 * saved state: rows already under the current key are never listed again, so a run cut short
 * continues where it stopped when started again; rows that do not open are reported and skipped.
 */
export async function rotateCredentials(deps: RotateCredentialsDeps, options: RotateCredentialsOptions): Promise<RotationReport> {
  const currentKeyId = deps.cipher.currentKeyId;
  const before = Object.fromEntries(Object.entries(await deps.store.countByKey()).filter(([keyId]) => keyId !== currentKeyId));
  const total = Object.values(before).reduce((sum, n) => sum + n, 0);
  const report: RotationReport = { dryRun: options.dryRun, currentKeyId, before, total, examined: 0, resealed: 0, changedMeanwhile: 0, failed: [], complete: false };
  let after: RowCursor | null = null;
  for (;;) {
    if (options.signal?.aborted) break;
    const rows = await deps.store.listNotUnderKey(currentKeyId, after, options.batch);
    const last = rows.at(-1);
    if (!last) {
      report.complete = true;
      break;
    }
    await rotateBatch(deps, options, report, rows);
    after = { userId: last.userId, exchange: last.exchange };
    options.onProgress?.(report);
  }
  return report;
}

async function rotateBatch(deps: RotateCredentialsDeps, options: RotateCredentialsOptions, report: RotationReport, rows: Awaited<ReturnType<CredentialsStore["listNotUnderKey"]>>): Promise<void> {
  const resealed: ResealedRow[] = [];
  for (const row of rows) {
    report.examined += 1;
    try {
      resealed.push({ row: deps.cipher.reseal(row), previous: row });
    } catch (error) {
      if (!(error instanceof CredentialDecryptionError)) throw error;
      report.failed.push({ userId: row.userId, exchange: row.exchange, keyId: row.keyId, problem: `${error.problem}: ${error.message}` });
    }
  }
  if (options.dryRun) {
    report.resealed += resealed.length;
    return;
  }
  const written = await deps.store.replaceSealed(resealed);
  report.resealed += written;
  report.changedMeanwhile += resealed.length - written;
}
