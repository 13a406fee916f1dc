import type { Redis } from "@upstash/redis";
import type { IdGenerator } from "../../clock";
import type { Database, Row } from "../../db/database";
import { UnprocessableError } from "../../errors";
import { isUuid } from "../../identity/uuid";
import type { OutboxMessage } from "../../outbox/model";
import type { RedisKeys } from "../../redis/keys";
import { decodeMeta, encodeMeta, legacyContentHash } from "../../settings/fast-copy";
import { SETTINGS_FAST_COPY_TOPIC, settingsTypes } from "../../settings/model";
import type { SettingsDocument, SettingsType } from "../../settings/model";
import { fromLegacyRepresentation, legacyHashTypes } from "../../settings/schemas";
import { decideSettings } from "../settings-plan";
import type { SettingsCandidate, SettingsChange, SettingsRowState } from "../settings-plan";
import type { SyncFilter } from "../model";
import type { SyncApplyResult, SyncDecision, SyncItem, SyncRead, SyncSource, SyncWork } from "../ports";

export interface SettingsSourceDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly db: Database;
  readonly ids: IdGenerator;
  /** Delivers fast-copy refreshes committed with a batch (the settings capability's outbox handler); never throws. */
  readonly deliver: (messages: readonly OutboxMessage[]) => Promise<void>;
}

/**
 * Moves the meta of one type to the version the sync wrote, only while the meta still says what
 * the sync read (another writer's refresh wins). The content is left as the bot wrote it: a bot
 * edit landing meanwhile no longer matches the meta's hash, so the next run picks it up.
 * KEYS: meta key. ARGV: type, expected meta version ("" when there was no meta), new meta.
 */
const MOVE_META = `local current = redis.call("HGET", KEYS[1], ARGV[1])
if ARGV[2] == "" then
  if current then return 0 end
else
  if not current then return 0 end
  local stored = tonumber(string.match(current, '^{"v":(%d+)'))
  if stored ~= tonumber(ARGV[2]) then return 0 end
end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[3])
return 1`;

/** Refreshes a drain may take only after this (the sync delivers its own at once). */
const WRITER_GRACE_MS = 10_000;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The legacy settings keys bots write directly (`user:{okx_uid}:preferences` hash,
 * `user:{okx_uid}:settings` JSON string, `user:{okx_uid}:dual_side` hash; by user id for users
 * without an okx uid), synced by the rule of settings-plan.ts.
 */
export class SettingsSyncSource implements SyncSource<SettingsCandidate, SettingsChange> {
  readonly name = "settings";
  private readonly moveMeta;

  constructor(private readonly deps: SettingsSourceDeps) {
    this.moveMeta = deps.redis.createScript<number>(MOVE_META);
  }

  patterns(filter: SyncFilter): readonly string[] {
    const { keys } = this.deps;
    if (filter.okxUid !== undefined) return settingsTypes.map((type) => keys.settingsFastCopy(filter.okxUid as string, type));
    return keys.settingsFastCopyPatterns();
  }

  /** Content and meta of every key in one pipeline; a copy whose content still matches its meta is skipped here. */
  async read(keyNames: readonly string[]): Promise<readonly SyncRead<SettingsCandidate>[]> {
    const named = keyNames.map((key) => ({ key, parts: this.deps.keys.settingsKeyParts(key) }));
    const readable = named.filter((entry): entry is { key: string; parts: { base: string; type: SettingsType } } => entry.parts !== null);
    const replies = readable.length > 0 ? await this.readContent(readable) : [];
    const byKey = new Map(readable.map((entry, i) => [entry.key, replies[i]]));
    return named.map(({ key, parts }) => {
      if (parts === null) return invalid(key, [{ path: "key", reason: "does not follow the user:{okx_uid}:preferences|settings|dual_side layout" }]);
      return candidate(key, parts.base, parts.type, byKey.get(key));
    });
  }

  async plan(items: readonly SyncItem<SettingsCandidate>[]): Promise<readonly SyncDecision<SettingsChange>[]> {
    const rows = await this.rowStates(items.map((entry) => entry.item));
    return items.map(({ key, item }, i) => decideSettings(key, item, rows[i] ?? { userId: null, version: null, settings: null, deleted: false }));
  }

  async apply(work: readonly SyncWork<SettingsChange>[]): Promise<SyncApplyResult> {
    const changes = work.filter((entry) => entry.change !== undefined && entry.change.op !== "meta").map((entry) => entry.change as SettingsChange);
    const upkeep = work.filter((entry) => entry.change?.op === "meta").map((entry) => entry.change as SettingsChange);
    const outcome = changes.length > 0 ? await this.write(changes) : { written: [], conflicted: [], refreshes: [] };
    await this.deps.deliver(outcome.refreshes);
    await this.moveMetas([...outcome.written, ...upkeep]);
    // Conflicts planned as such plus `version` writes that met a concurrent API write (now conflicts too).
    const bare = work.filter((entry) => entry.kind === "conflict" && entry.change === undefined).length;
    return { written: outcome.written.length, conflicts: bare + outcome.conflicted.length, unchanged: upkeep.length, failures: [] };
  }

  /**
   * Two pipelined round trips: the type of each key with its meta field, then the content of the
   * keys of the right type (HGETALL on a key of another type would fail the client's whole reply).
   */
  private async readContent(entries: readonly { key: string; parts: { base: string; type: SettingsType } }[]): Promise<Reply[]> {
    const probe = this.deps.redis.pipeline();
    for (const { key, parts } of entries) probe.type(key).hget(this.deps.keys.settingsMeta(parts.base), parts.type);
    const probed = await probe.exec<unknown[]>({ keepErrors: true });
    const wanted = entries.map(({ parts }, i) => {
      const found = probed[2 * i]?.result;
      const expected = legacyHashTypes.has(parts.type) ? "hash" : "string";
      return found === expected ? "read" : found === "none" ? "gone" : `holds a ${String(found)}, not a ${expected}`;
    });
    const reads = entries.filter((_, i) => wanted[i] === "read");
    const content = reads.length > 0 ? await this.contentOf(reads) : [];
    let next = 0;
    return entries.map((_, i): Reply => {
      const meta = probed[2 * i + 1];
      const state = wanted[i] as string;
      if (meta?.error) return { content: null, meta: null, error: String(meta.error) };
      if (state === "gone") return { content: null, meta: null };
      if (state !== "read") return { content: null, meta: null, error: `the key ${state}` };
      const reply = content[next++];
      return reply?.error ? { content: null, meta: null, error: String(reply.error) } : { content: reply?.result ?? null, meta: meta?.result ?? null };
    });
  }

  private async contentOf(entries: readonly { key: string; parts: { type: SettingsType } }[]): Promise<{ result?: unknown; error?: unknown }[]> {
    const pipeline = this.deps.redis.pipeline();
    for (const { key, parts } of entries) {
      if (legacyHashTypes.has(parts.type)) pipeline.hgetall(key);
      else pipeline.get(key);
    }
    return pipeline.exec<unknown[]>({ keepErrors: true });
  }

  /** Each candidate's user (by okx uid or user id) and its row of that type, in one query, in order. */
  private async rowStates(items: readonly SettingsCandidate[]): Promise<SettingsRowState[]> {
    const rows = await this.deps.db.query(
      `WITH input AS (SELECT * FROM unnest($1::int[], $2::uuid[], $3::text[], $4::text[]) AS t(ord, by_id, by_okx, setting_type))
       SELECT i.ord, o.id::text AS user_id, s.version, s.settings, (s.deleted_at IS NOT NULL OR NOT s.is_active) AS deleted
       FROM input i
       LEFT JOIN LATERAL (
         SELECT a.id FROM app_users a WHERE a.id = i.by_id AND a.is_active
         UNION ALL SELECT a.id FROM app_users a WHERE a.okx_uid = i.by_okx AND a.is_active
         UNION ALL SELECT m.user_id FROM user_identifier_mappings m JOIN app_users a ON a.id = m.user_id AND a.is_active
           WHERE m.okx_uid = i.by_okx AND m.is_active
         LIMIT 1) o ON true
       LEFT JOIN user_settings s ON s.user_id = o.id AND s.setting_type = i.setting_type
       ORDER BY i.ord`,
      [
        items.map((_, i) => i),
        items.map((item) => (isUuid(item.base) ? item.base : null)),
        items.map((item) => (isUuid(item.base) ? null : item.base)),
        items.map((item) => item.type),
      ],
      "settings sync plan",
    );
    return rows.map(toRowState);
  }

  /**
   * One statement: new versions of what only Redis changed (applied only where the row is still at
   * the planned version; one that moved meanwhile turns into a conflict), their history rows
   * (`sync`), the Redis content of conflicts as `sync-conflict` history rows, and the fast-copy
   * refresh of every conflict in the outbox (delivered right after, or by the drain).
   */
  private async write(changes: readonly SettingsChange[]): Promise<{ written: SettingsChange[]; conflicted: SettingsChange[]; refreshes: OutboxMessage[] }> {
    const input = changes.map((change) => ({
      user_id: change.userId,
      setting_type: change.type,
      settings: change.document,
      expected: change.expected,
      op: change.op,
      row_id: this.deps.ids.uuid(),
      outbox_id: this.deps.ids.uuid(),
    }));
    const [rows = []] = await this.deps.db.transaction((sql) => [sql.query(WRITE_SQL, [JSON.stringify(input), SETTINGS_FAST_COPY_TOPIC, WRITER_GRACE_MS])], "settings sync write");
    const byRow = new Map(changes.map((change) => [`${change.userId}:${change.type}`, change]));
    const pick = (kind: string) => rows.filter((row) => row.kind === kind).flatMap((row) => byRow.get(`${String(row.user_id)}:${String(row.setting_type)}`) ?? []);
    const written = rows.filter((row) => row.kind === "written").flatMap((row) => {
      const change = byRow.get(`${String(row.user_id)}:${String(row.setting_type)}`);
      return change ? [{ ...change, expected: Number(row.version) }] : [];
    });
    const refreshes = rows
      .filter((row) => row.kind === "conflict")
      .map((row) => ({ id: String(row.outbox_id), topic: SETTINGS_FAST_COPY_TOPIC, key: `${String(row.user_id)}:${String(row.setting_type)}`, payload: { userId: String(row.user_id), type: String(row.setting_type) } }));
    return { written, conflicted: pick("conflict"), refreshes };
  }

  /** The meta of each written (or already equal) type moved to its Postgres version; a miss is repaired by the next run. */
  private async moveMetas(changes: readonly SettingsChange[]): Promise<void> {
    if (changes.length === 0) return;
    const updatedAt = new Date().toISOString();
    await Promise.all(
      changes.map((change) => {
        const meta = encodeMeta({ version: change.expected ?? 1, hash: change.hash, updatedAt, settings: change.document });
        const expected = change.metaVersion === null ? "" : String(change.metaVersion);
        return this.moveMeta.exec([this.deps.keys.settingsMeta(change.base)], [change.type, expected, meta]).catch(() => 0);
      }),
    );
  }
}

const WRITE_SQL = `WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS t(user_id uuid, setting_type text, settings jsonb, expected int, op text, row_id uuid, outbox_id uuid)),
  updated AS (
    UPDATE user_settings s SET settings = i.settings, version = s.version + 1, deleted_at = NULL, is_active = true, updated_at = now()
    FROM input i
    WHERE i.op = 'version' AND i.expected IS NOT NULL AND s.user_id = i.user_id AND s.setting_type = i.setting_type AND s.version = i.expected
    RETURNING s.id, s.user_id, s.setting_type, s.version, s.settings, s.updated_at),
  inserted AS (
    INSERT INTO user_settings (id, user_id, okx_uid, telegram_id, setting_type, settings, version, created_at, updated_at)
    SELECT i.row_id, i.user_id, COALESCE(u.okx_uid, m.okx_uid), u.telegram_id, i.setting_type, i.settings, 1, now(), now()
    FROM input i JOIN app_users u ON u.id = i.user_id AND u.is_active
    LEFT JOIN user_identifier_mappings m ON m.user_id = u.id AND m.is_active
    WHERE i.op = 'version' AND i.expected IS NULL
    ON CONFLICT (user_id, setting_type) DO NOTHING
    RETURNING id, user_id, setting_type, version, settings, updated_at),
  written AS (SELECT * FROM updated UNION ALL SELECT * FROM inserted),
  conflicted AS (
    SELECT i.* FROM input i WHERE i.op = 'conflict'
    UNION ALL
    SELECT i.* FROM input i WHERE i.op = 'version'
      AND NOT EXISTS (SELECT 1 FROM written w WHERE w.user_id = i.user_id AND w.setting_type = i.setting_type)),
  history AS (
    INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, changed_at, actor, source)
    SELECT w.id, w.user_id, w.setting_type, w.version, w.settings, w.updated_at, 'sync', 'sync' FROM written w
    UNION ALL
    SELECT COALESCE(s.id, c.row_id), c.user_id, c.setting_type, COALESCE(s.version, 1), c.settings, now(), 'sync', 'sync-conflict'
    FROM conflicted c LEFT JOIN user_settings s ON s.user_id = c.user_id AND s.setting_type = c.setting_type),
  refreshes AS (
    INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
    SELECT c.outbox_id, $2, c.user_id::text || ':' || c.setting_type, jsonb_build_object('userId', c.user_id, 'type', c.setting_type),
           now() + $3::int * interval '1 millisecond'
    FROM conflicted c)
  SELECT 'written' AS kind, user_id::text AS user_id, setting_type, version, NULL::text AS outbox_id FROM written
  UNION ALL SELECT 'conflict', user_id::text, setting_type, NULL, outbox_id::text FROM conflicted`;

function toRowState(row: Row): SettingsRowState {
  const hasRow = row.version !== null && row.version !== undefined;
  return {
    userId: row.user_id === null || row.user_id === undefined ? null : String(row.user_id),
    version: hasRow ? Number(row.version) : null,
    settings: hasRow ? (row.settings as SettingsDocument) : null,
    deleted: row.deleted === true,
  };
}

type Reply = { content: unknown; meta: unknown; error?: string };

function invalid(key: string, problems: readonly { path: string; reason: string }[]): SyncRead<SettingsCandidate> {
  return { kind: "invalid", key, problems };
}

/** The key's value validated into a candidate; skipped when gone or when it still is what was last synced. */
function candidate(key: string, base: string, type: SettingsType, reply: Reply | undefined): SyncRead<SettingsCandidate> {
  if (!reply || reply.error !== undefined) return invalid(key, [{ path: "key", reason: `cannot read: ${reply?.error ?? "no reply"}` }]);
  const { content } = reply;
  if (content === null || content === undefined) return { kind: "skip", key };
  const meta = decodeMeta(reply.meta);
  const hash = isRecord(content) ? legacyContentHash(content) : null;
  if (meta && !meta.deleted && hash !== null && hash === meta.hash) return { kind: "skip", key };
  try {
    const document = fromLegacyRepresentation(type, content, "$");
    if (hash === null) return invalid(key, [{ path: "value", reason: "is not an object" }]);
    return { kind: "item", key, item: { base, type, document, hash, metaVersion: meta ? meta.version : null } };
  } catch (error) {
    if (!(error instanceof UnprocessableError)) throw error;
    return invalid(key, error.issues.map((issue) => ({ path: issue.field === "$" ? "value" : issue.field.replace(/^\$\./, ""), reason: issue.message })));
  }
}
