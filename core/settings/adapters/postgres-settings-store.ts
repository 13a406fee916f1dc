import type { NeonQueryInTransaction } from "@neondatabase/serverless";
import type { IdGenerator } from "../../clock";
import { sqlStateOf } from "../../db/database";
import type { Database, Row, TransactionSql } from "../../db/database";
import { NotFoundError, PreconditionFailedError } from "../../errors";
import type { OutboxMessage } from "../../outbox/model";
import { defaultSettingsFor } from "../schemas";
import { SETTINGS_FAST_COPY_TOPIC, settingsTypes } from "../model";
import type { SettingsDocument, SettingsHistoryEntry, SettingsOwner, SettingsSource, SettingsType, StoredSettings } from "../model";
import type { ExportQuery, ExportedSettings, HistoryQuery, SettingsRemoval, SettingsStore, SettingsUserState, SettingsWrite, SettingsWriteResult } from "../ports";

type Statement = NeonQueryInTransaction;

/** The user a default-settings write is for (provisioning's AppUser and registration's user both fit). */
export interface SettingsUser {
  readonly id: string;
  readonly okxUid: string | null;
  readonly telegramId: string | null;
  readonly createdAt: Date;
}

/** Key of a type's refreshes in the outbox: rows of one key are delivered in order. */
export const fastCopyOutboxKey = (userId: string, type: SettingsType): string => `${userId}:${type}`;

/** What an outbox row of a refresh carries; the handler reads the current row (or the writer's snapshot). */
export function refreshMessage(id: string, userId: string, type: SettingsType): OutboxMessage {
  return { id, topic: SETTINGS_FAST_COPY_TOPIC, key: fastCopyOutboxKey(userId, type), payload: { userId, type } };
}

const ENQUEUE_SQL = `INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
  SELECT (m->>'id')::uuid, m->>'topic', m->>'key', m->'payload', now() + $2::int * interval '1 millisecond' FROM jsonb_array_elements($1::jsonb) AS m`;

/** The writer delivers its own refresh right after the commit; a drain may take the row only after this. */
const WRITER_GRACE_MS = 10_000;

/**
 * Default settings of every type the user lacks (existing rows, deleted ones included, untouched),
 * their history rows (source `registration`) and their fast-copy outbox rows, as statements of the
 * caller's transaction (user creation, registration). The outbox rows are due at once: no writer
 * delivers them, the drain (or the first read, which refills from Postgres) does.
 */
export const defaultSettingsStatements = (tx: TransactionSql, user: SettingsUser): readonly Statement[] => {
  const defaults = Object.fromEntries(settingsTypes.map((type) => [type, defaultSettingsFor(type)]));
  return [
    tx.query(
      `WITH ins AS (
         INSERT INTO user_settings (id, user_id, okx_uid, telegram_id, setting_type, settings, version, created_at, updated_at)
         SELECT gen_random_uuid(), $1::uuid, $2, $3::bigint, d.key, d.value, 1, $4, $4 FROM jsonb_each($5::jsonb) AS d
         ON CONFLICT (user_id, setting_type) DO NOTHING
         RETURNING id, user_id, setting_type, version, settings
       ), hist AS (
         INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, changed_at, actor, source)
         SELECT id, user_id, setting_type, version, settings, $4, 'system', 'registration' FROM ins
       )
       INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
       SELECT gen_random_uuid(), '${SETTINGS_FAST_COPY_TOPIC}', user_id::text || ':' || setting_type,
              jsonb_build_object('userId', user_id, 'type', setting_type), now()
       FROM ins`,
      [user.id, user.okxUid, user.telegramId, user.createdAt, JSON.stringify(defaults)],
    ),
  ];
};

const OWNER_SQL = `SELECT u.id, COALESCE(u.okx_uid, m.okx_uid) AS okx_uid FROM app_users u
  LEFT JOIN user_identifier_mappings m ON m.user_id = u.id AND m.is_active WHERE u.id = $1 AND u.is_active`;

const toOwner = (row: Row): SettingsOwner => ({ userId: String(row.id), okxUid: row.okx_uid === null || row.okx_uid === undefined ? null : String(row.okx_uid) });
const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));

function toStored(row: Row): StoredSettings {
  return { type: row.setting_type as SettingsType, settings: row.settings as SettingsDocument, version: Number(row.version), updatedAt: toDate(row.updated_at) };
}

function toHistory(row: Row): SettingsHistoryEntry {
  return {
    type: row.setting_type as SettingsType,
    version: Number(row.version),
    settings: row.settings as SettingsDocument,
    changedAt: toDate(row.changed_at),
    actor: String(row.actor),
    source: row.source as SettingsSource,
  };
}

/** Settings in Postgres through Neon's HTTP driver: one bounded round trip per call (core/db/database.ts). */
export class PostgresSettingsStore implements SettingsStore {
  constructor(
    private readonly db: Database,
    private readonly ids: IdGenerator,
    /** Counts round trips (bench, tests). */
    private readonly onQuery: () => void = () => undefined,
  ) {}

  private query(what: string, text: string, params: readonly unknown[]): Promise<Row[]> {
    this.onQuery();
    return this.db.query(text, params, `settings store: ${what}`);
  }

  /** A write transaction; the precondition function's codes become NotFound / PreconditionFailed. */
  private async transact(what: string, build: (tx: TransactionSql) => Statement[]): Promise<Row[][]> {
    this.onQuery();
    try {
      return await this.db.transaction(build, `settings store: ${what}`);
    } catch (error) {
      const state = sqlStateOf(error);
      if (state === "BS404") throw new NotFoundError((error as Error).message === "no active user" ? "no active user with this id" : "no settings of this type");
      if (state === "BS412") throw new PreconditionFailedError("If-Match: the settings changed since that version");
      throw error;
    }
  }

  async owner(userId: string): Promise<SettingsOwner | null> {
    const [row] = await this.query("read owner", OWNER_SQL, [userId]);
    return row ? toOwner(row) : null;
  }

  async load(userId: string): Promise<SettingsUserState | null> {
    const rows = await this.query(
      "read settings",
      `SELECT o.id, o.okx_uid, s.setting_type, s.settings, s.version, s.updated_at, (s.deleted_at IS NOT NULL OR NOT s.is_active) AS deleted
       FROM (${OWNER_SQL}) o LEFT JOIN user_settings s ON s.user_id = o.id`,
      [userId],
    );
    const [first] = rows;
    if (!first) return null;
    const owner = toOwner(first);
    const states = rows.filter((row) => row.setting_type !== null && row.setting_type !== undefined).map((row) => ({ ...toStored(row), deleted: row.deleted === true }));
    return { owner, states };
  }

  private precondition(tx: TransactionSql, userId: string, type: SettingsType, expected: number | null, requireExisting: boolean): Statement {
    return tx.query(`SELECT prev_version, prev_deleted FROM botstate_settings_precondition($1::uuid, $2, $3::int, $4)`, [userId, type, expected, requireExisting]);
  }

  async write(input: SettingsWrite): Promise<SettingsWriteResult> {
    const refresh = refreshMessage(this.ids.uuid(), input.userId, input.type);
    const [written = []] = await this.transact("write settings", (tx) => [
      tx.query(`SELECT version, updated_at, okx_uid, created FROM botstate_settings_write($1::uuid, $2, $3::int, $4::jsonb, $5, $6, $7::uuid, $8::jsonb, $9::int)`, [
        input.userId,
        input.type,
        input.expectedVersion,
        JSON.stringify(input.settings),
        input.actor,
        input.source,
        this.ids.uuid(),
        JSON.stringify(refresh),
        WRITER_GRACE_MS,
      ]),
    ]);
    const row = written[0];
    if (!row) throw new NotFoundError("no active user with this id");
    const stored = { type: input.type, settings: input.settings, version: Number(row.version), updatedAt: toDate(row.updated_at) };
    return { stored, created: row.created === true, owner: toOwner({ id: input.userId, okx_uid: row.okx_uid }), refresh };
  }

  async remove(userId: string, type: SettingsType, expectedVersion: number | null): Promise<SettingsRemoval> {
    const refresh = refreshMessage(this.ids.uuid(), userId, type);
    const [, removed = []] = await this.transact("delete settings", (tx) => [
      this.precondition(tx, userId, type, expectedVersion, true),
      tx.query(
        `UPDATE user_settings SET deleted_at = now(), version = version + 1, updated_at = now()
         WHERE user_id = $1 AND setting_type = $2 AND deleted_at IS NULL RETURNING version, okx_uid`,
        [userId, type],
      ),
      tx.query(ENQUEUE_SQL, [JSON.stringify([refresh]), WRITER_GRACE_MS]),
    ]);
    const row = removed[0];
    if (!row) throw new NotFoundError("no settings of this type");
    return { version: Number(row.version), owner: toOwner({ id: userId, okx_uid: row.okx_uid }), refresh };
  }

  async history(query: HistoryQuery): Promise<SettingsHistoryEntry[]> {
    const rows = await this.query(
      "read history",
      `SELECT setting_type, version, settings, changed_at, actor, source FROM user_settings_history
       WHERE user_id = $1 AND setting_type = $2 AND ($3::int IS NULL OR version < $3)
       ORDER BY version DESC, changed_at DESC LIMIT $4`,
      [query.userId, query.type, query.beforeVersion, query.limit],
    );
    return rows.map(toHistory);
  }

  async historyVersion(userId: string, type: SettingsType, version: number): Promise<SettingsHistoryEntry | null> {
    const [row] = await this.query(
      "read a version",
      `SELECT setting_type, version, settings, changed_at, actor, source FROM user_settings_history
       WHERE user_id = $1 AND setting_type = $2 AND version = $3 AND source <> 'sync-conflict' ORDER BY changed_at DESC LIMIT 1`,
      [userId, type, version],
    );
    return row ? toHistory(row) : null;
  }

  async owedRefreshes(): Promise<number> {
    const [row] = await this.query(
      "count owed refreshes",
      `SELECT count(*)::int AS owed FROM outbox WHERE topic = $1 AND (last_error IS NOT NULL OR next_attempt_at <= now())`,
      [SETTINGS_FAST_COPY_TOPIC],
    );
    return Number(row?.owed ?? 0);
  }

  async recordDisplaced(userId: string, type: SettingsType, version: number, settings: Readonly<Record<string, unknown>>): Promise<void> {
    await this.transact("keep a displaced edit", (tx) => [
      tx.query(
        `INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, actor, source)
         SELECT id, user_id, setting_type, $3, $4::jsonb, 'fast-copy', 'sync-conflict' FROM user_settings WHERE user_id = $1 AND setting_type = $2`,
        [userId, type, Math.max(1, version), JSON.stringify(settings)],
      ),
    ]);
  }

  async exportPage(query: ExportQuery): Promise<ExportedSettings[]> {
    const rows = await this.query(
      "export settings",
      `SELECT s.user_id, COALESCE(u.okx_uid, s.okx_uid) AS okx_uid, s.setting_type, s.version, s.settings, s.updated_at
       FROM user_settings s JOIN app_users u ON u.id = s.user_id
       WHERE s.deleted_at IS NULL AND s.is_active
         AND ($1::uuid IS NULL OR (s.user_id, s.setting_type) > ($1::uuid, $2::text))
         AND ($3::text IS NULL OR u.okx_uid = $3 OR s.okx_uid = $3)
       ORDER BY s.user_id, s.setting_type LIMIT $4`,
      [query.after?.userId ?? null, query.after?.type ?? null, query.okxUid, query.limit],
    );
    return rows.map((row) => ({
      userId: String(row.user_id),
      okxUid: row.okx_uid === null || row.okx_uid === undefined ? null : String(row.okx_uid),
      type: row.setting_type as SettingsType,
      version: Number(row.version),
      settings: row.settings as SettingsDocument,
      updatedAt: toDate(row.updated_at),
    }));
  }
}
