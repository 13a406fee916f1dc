import type { NeonQueryInTransaction } from "@neondatabase/serverless";
import { saveCredentialsStatement } from "../../credentials/adapters/postgres-credentials-store";
import { sqlStateOf } from "../../db/database";
import type { Database, Row, TransactionSql } from "../../db/database";
import type { OutboxMessage } from "../../outbox/model";
import type { RegistrationCandidate } from "../model";
import type { RegistrationStore, RegistrationWrite, RegistrationWriteResult } from "../ports";

type Statement = NeonQueryInTransaction;

/** The user a default-settings write is for (settings' `SettingsUser`; provisioning's AppUser fits too). */
export interface RegistrationSettingsUser {
  readonly id: string;
  readonly okxUid: string | null;
  readonly telegramId: string | null;
  readonly createdAt: Date;
}

/**
 * Default settings of every type the user lacks, as statements of the registration transaction:
 * settings' `defaultSettingsStatements` (existing types untouched, history source `registration`,
 * fast-copy outbox rows).
 */
export type RegistrationSettingsStatements = (tx: TransactionSql, user: RegistrationSettingsUser) => readonly Statement[];

/** Raised by botstate_registration_guard (migration 0016): the user changed since the plan was made. */
const STALE_USER = "BS001";

// Each branch is an index probe; the union names every active user either identifier points at.
const CANDIDATES_SQL = `WITH ids AS (
    SELECT id FROM app_users WHERE is_active AND telegram_id = $1::bigint
    UNION SELECT id FROM app_users WHERE is_active AND okx_uid = $2
    UNION SELECT user_id FROM user_identifier_mappings WHERE is_active AND telegram_id = $1::bigint
    UNION SELECT user_id FROM user_identifier_mappings WHERE is_active AND okx_uid = $2
  )
  SELECT u.id, u.telegram_id::text AS telegram_id, COALESCE(u.okx_uid, m.okx_uid) AS okx_uid, u.created_at
  FROM ids JOIN app_users u ON u.id = ids.id AND u.is_active
  LEFT JOIN user_identifier_mappings m ON m.user_id = u.id AND m.is_active`;

function toCandidate(row: Row): RegistrationCandidate {
  return {
    id: String(row.id),
    telegramId: String(row.telegram_id),
    okxUid: row.okx_uid === null || row.okx_uid === undefined ? null : String(row.okx_uid),
    createdAt: new Date(row.created_at as string | Date),
  };
}

export class PostgresRegistrationStore implements RegistrationStore {
  constructor(
    private readonly db: Database,
    private readonly defaultSettings: RegistrationSettingsStatements,
    /** The outbox INSERT of messages, as a statement of the same transaction (PostgresOutbox.enqueue). */
    private readonly enqueue: (messages: readonly OutboxMessage[]) => Statement,
  ) {}

  async candidates(telegramId: string, okxUid: string): Promise<RegistrationCandidate[]> {
    const rows = await this.db.query(CANDIDATES_SQL, [telegramId, okxUid], "registration: candidates");
    return rows.map(toCandidate);
  }

  async write(write: RegistrationWrite): Promise<RegistrationWriteResult> {
    try {
      await this.db.transaction((tx) => this.statements(tx, write), "registration: write");
      return { kind: "written" };
    } catch (error) {
      const state = sqlStateOf(error);
      if (state === "23505") return { kind: "identifiers_taken" };
      if (state === STALE_USER) return { kind: "stale" };
      throw error;
    }
  }

  private statements(tx: TransactionSql, write: RegistrationWrite): Statement[] {
    const { plan, userId, telegramId, okxUid, now } = write;
    const user: RegistrationSettingsUser = { id: userId, telegramId, okxUid, createdAt: plan.kind === "create" ? now : plan.user.createdAt };
    return [
      ...(plan.kind === "create" ? this.createUser(tx, write) : this.ensureUser(tx, write, plan.kind === "attach" ? null : okxUid)),
      saveCredentialsStatement(tx, write.credentials),
      ...this.defaultSettings(tx, user),
      ...(write.invalidation ? [this.enqueue([write.invalidation])] : []),
    ];
  }

  private createUser(tx: TransactionSql, { userId, telegramId, okxUid, now }: RegistrationWrite): Statement[] {
    return [
      tx.query("INSERT INTO app_users (id, telegram_id, okx_uid, is_active, created_at, updated_at) VALUES ($1, $2, $3, true, $4, $4)", [userId, telegramId, okxUid, now]),
      tx.query(
        `INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source, created_at, updated_at)
         VALUES ($1, $2, $3, true, 'registration', $4, $4)`,
        [userId, telegramId, okxUid, now],
      ),
    ];
  }

  /**
   * An existing user: locked and checked to be as the plan saw it (`expectedOkxUid` null when the
   * okx uid is being attached), given the okx uid, and its mapping made to say the same.
   */
  private ensureUser(tx: TransactionSql, { userId, telegramId, okxUid, now }: RegistrationWrite, expectedOkxUid: string | null): Statement[] {
    return [
      tx.query("SELECT botstate_registration_guard($1, $2, $3)", [userId, telegramId, expectedOkxUid]),
      tx.query("UPDATE app_users SET okx_uid = $2 WHERE id = $1 AND okx_uid IS DISTINCT FROM $2", [userId, okxUid]),
      tx.query(
        `INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source, created_at, updated_at)
         VALUES ($1, $2, $3, true, 'registration', $4, $4)
         ON CONFLICT (user_id) DO UPDATE SET telegram_id = EXCLUDED.telegram_id, okx_uid = EXCLUDED.okx_uid, is_active = true, updated_at = EXCLUDED.updated_at
         WHERE (user_identifier_mappings.telegram_id, user_identifier_mappings.okx_uid, user_identifier_mappings.is_active)
           IS DISTINCT FROM (EXCLUDED.telegram_id, EXCLUDED.okx_uid, true)`,
        [userId, telegramId, okxUid, now],
      ),
    ];
  }
}
