import type { Redis } from "@upstash/redis";
import type { IdGenerator } from "../../clock";
import type { Database, Row } from "../../db/database";
import { UnprocessableError } from "../../errors";
import { isUuid } from "../../identity/uuid";
import type { RedisKeys } from "../../redis/keys";
import { encodeMeta, legacyContentHash } from "../../settings/fast-copy";
import { SETTINGS_FAST_COPY_TOPIC, settingsTypes } from "../../settings/model";
import type { SettingsDocument, SettingsType } from "../../settings/model";
import { fromLegacyRepresentation, legacyHashTypes } from "../../settings/schemas";
import { decideSettings } from "../settings-plan";
import type { SettingsCandidate, SettingsChange, SettingsRowState } from "../settings-plan";
import type { SyncFilter } from "../model";
import type { SyncApplyResult, SyncDecision, SyncItem, SyncPlanContext, SyncRead, SyncSource, SyncWork } from "../ports";

export interface SettingsSourceDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly db: Database;
  readonly ids: IdGenerator;
}

/**
 * Moves the meta of each written type to the version the sync wrote, only while the meta still
 * says what the sync read (another writer's refresh wins). The content is left as the bot wrote it:
 * a bot edit landing meanwhile no longer matches the meta's hash, so the next run picks it up.
 * KEYS: meta keys. ARGV: per key, the type, the expected meta version ("" when there was none) and the new meta.
 */
const MOVE_METAS = `local moved = 0
for i, key in ipairs(KEYS) do
  local field, expected, meta = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local current = redis.call("HGET", key, field)
  local ok = false
  if expected == "" then
    ok = not current
  elseif current then
    ok = tonumber(string.match(current, '^{"v":(%d+)')) == tonumber(expected)
  end
  if ok then
    redis.call("HSET", key, field, meta)
    moved = moved + 1
  end
end
return moved`;

/**
 * The version and content hash of each meta field, without the document it also carries (the
 * bulk of its bytes): `"<version>|<hash>"`, `"<version>|"` for a deleted type, `""` for none.
 * KEYS: meta keys. ARGV: the type of each.
 */
const READ_METAS = `local out = {}
for i, key in ipairs(KEYS) do
  local current = redis.call("HGET", key, ARGV[i])
  local answer = ""
  if current then
    local v, h = string.match(current, '^{"v":(%d+),"h":"([^"]*)"')
    if v then
      answer = v .. "|" .. h
    else
      local d = string.match(current, '^{"v":(%d+),"deleted":true')
      if d then answer = d .. "|" end
    end
  end
  out[i] = answer
end
return out`;


const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The legacy settings keys bots write directly (`user:{okx_uid}:preferences` hash,
 * `user:{okx_uid}:settings` JSON string, `user:{okx_uid}:dual_side` hash; by user id for users
 * without an okx uid), synced by the rule of settings-plan.ts.
 */
export class SettingsSyncSource implements SyncSource<SettingsCandidate, SettingsChange> {
  readonly name = "settings";
  constructor(private readonly deps: SettingsSourceDeps) {}

  patterns(filter: SyncFilter): readonly string[] {
    const { keys } = this.deps;
    if (filter.okxUid !== undefined) return settingsTypes.map((type) => keys.settingsFastCopy(filter.okxUid as string, type));
    return keys.settingsFastCopyPatterns();
  }

  /** Content and meta of every key in one pipeline; a copy whose content still matches its meta is skipped here. */
  async read(keyNames: readonly string[]): Promise<readonly SyncRead<SettingsCandidate>[]> {
    const named = keyNames.map((key) => ({ key, parts: this.deps.keys.settingsKeyParts(key) }));
    const readable = named.filter((entry): entry is Entry => entry.parts !== null);
    const replies = readable.length > 0 ? await this.readContent(readable) : [];
    const byKey = new Map(readable.map((entry, i) => [entry.key, replies[i]]));
    return named.map(({ key, parts }) => {
      if (parts === null) return invalid(key, [{ path: "key", reason: "does not follow the user:{okx_uid}:preferences|settings|dual_side layout" }]);
      return candidate(key, parts.base, parts.type, byKey.get(key));
    });
  }

  async plan(items: readonly SyncItem<SettingsCandidate>[], context: SyncPlanContext): Promise<readonly SyncDecision<SettingsChange>[]> {
    const rows = await this.rowStates(items.map((entry) => entry.item), context.dryRun);
    return items.map(({ key, item }, i) => decideSettings(key, item, rows[i] ?? { userId: null, version: null, settings: null, deleted: false, updatedAt: null }));
  }

  async apply(work: readonly SyncWork<SettingsChange>[]): Promise<SyncApplyResult> {
    const changes = work.filter((entry) => entry.change !== undefined && entry.change.op !== "meta").map((entry) => entry.change as SettingsChange);
    const upkeep = work.filter((entry) => entry.change?.op === "meta").map((entry) => entry.change as SettingsChange);
    const outcome = changes.length > 0 ? await this.write(changes) : { written: [], same: [], conflicted: [] };
    await this.moveMetas([...outcome.written, ...outcome.same, ...upkeep]);
    // Conflicts planned as such plus `version` writes that met a concurrent API write (now conflicts too).
    const bare = work.filter((entry) => entry.kind === "conflict" && entry.change === undefined).length;
    return { written: outcome.written.length, conflicts: bare + outcome.conflicted.length, unchanged: upkeep.length + outcome.same.length, failures: [] };
  }

  /**
   * One pipeline: the content of every key and one script reading the version and hash of every
   * meta field. A key of the wrong type fails the client's decoding of HGETALL (the whole reply),
   * so that rare page is read again with the type of each key checked first.
   */
  private async readContent(entries: readonly Entry[]): Promise<Reply[]> {
    const pipeline = this.deps.redis.pipeline();
    pipeline.eval(READ_METAS, entries.map(({ parts }) => this.deps.keys.settingsMeta(parts.base)), entries.map(({ parts }) => parts.type));
    for (const { key, parts } of entries) {
      if (legacyHashTypes.has(parts.type)) pipeline.hgetall(key);
      else pipeline.get(key);
    }
    let replies: { result?: unknown; error?: unknown }[];
    try {
      replies = await pipeline.exec<unknown[]>({ keepErrors: true });
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      return this.readCarefully(entries);
    }
    const [metas, ...content] = replies;
    if (metas?.error) throw new Error(`reading the settings meta failed: ${String(metas.error)}`);
    const stamps = Array.isArray(metas?.result) ? (metas.result as unknown[]) : [];
    return entries.map((_, i): Reply => {
      const reply = content[i];
      if (reply?.error) return { content: null, stamp: null, error: String(reply.error) };
      return { content: reply?.result ?? null, stamp: parseStamp(stamps[i]) };
    });
  }

  /** The slow path: the type of each key first, then the content of those of the right type. */
  private async readCarefully(entries: readonly Entry[]): Promise<Reply[]> {
    const probe = this.deps.redis.pipeline();
    probe.eval(READ_METAS, entries.map(({ parts }) => this.deps.keys.settingsMeta(parts.base)), entries.map(({ parts }) => parts.type));
    for (const { key } of entries) probe.type(key);
    const [metas, ...types] = await probe.exec<unknown[]>({ keepErrors: true });
    const stamps = Array.isArray(metas?.result) ? (metas.result as unknown[]) : [];
    const wanted = entries.map(({ parts }, i) => {
      const found = types[i]?.result;
      const expected = legacyHashTypes.has(parts.type) ? "hash" : "string";
      return found === expected ? "read" : found === "none" ? "gone" : `holds a ${String(found)}, not a ${expected}`;
    });
    const reads = entries.filter((_, i) => wanted[i] === "read");
    const content = reads.length > 0 ? await this.contentOf(reads) : [];
    let next = 0;
    return entries.map((_, i): Reply => {
      const state = wanted[i] as string;
      if (state === "gone") return { content: null, stamp: null };
      if (state !== "read") return { content: null, stamp: null, error: `the key ${state}` };
      const reply = content[next++];
      return reply?.error ? { content: null, stamp: null, error: String(reply.error) } : { content: reply?.result ?? null, stamp: parseStamp(stamps[i]) };
    });
  }

  private async contentOf(entries: readonly Entry[]): Promise<{ result?: unknown; error?: unknown }[]> {
    const pipeline = this.deps.redis.pipeline();
    for (const { key, parts } of entries) {
      if (legacyHashTypes.has(parts.type)) pipeline.hgetall(key);
      else pipeline.get(key);
    }
    return pipeline.exec<unknown[]>({ keepErrors: true });
  }

  /** Each candidate's user (by okx uid or user id) and its row of that type, in one query, in order. */
  private async rowStates(items: readonly SettingsCandidate[], withDocuments: boolean): Promise<SettingsRowState[]> {
    const rows = await this.deps.db.query(
      `WITH input AS (SELECT * FROM unnest($1::int[], $2::uuid[], $3::text[], $4::text[], $5::int[]) AS t(ord, by_id, by_okx, setting_type, meta_version))
       SELECT i.ord, o.id::text AS user_id, s.version, s.updated_at, (s.deleted_at IS NOT NULL OR NOT s.is_active) AS deleted,
              -- The document only where a conflict is possible (its bytes are most of the answer).
              -- A real run learns "same document" from its write instead; a dry run must predict it here.
              CASE WHEN $6::boolean OR s.version IS DISTINCT FROM i.meta_version OR s.deleted_at IS NOT NULL THEN s.settings END AS settings
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
        items.map((item) => item.metaVersion),
        withDocuments,
      ],
      "settings sync plan",
    );
    return rows.map(toRowState);
  }

  /**
   * One statement: new versions of what only Redis changed (applied only where the row is still at
   * the planned version; one that moved meanwhile turns into a conflict), their history rows
   * (`sync`), the Redis content of conflicts as `sync-conflict` history rows, and the fast-copy
   * refresh of every conflict in the outbox, due at once: the outbox drain (every minute) repairs
   * the copy with the settings capability's handler, which the cron does not bundle.
   */
  private async write(changes: readonly SettingsChange[]): Promise<{ written: SettingsChange[]; same: SettingsChange[]; conflicted: SettingsChange[] }> {
    const input = changes.map((change) => ({
      user_id: change.userId,
      setting_type: change.type,
      settings: change.document,
      expected: change.expected,
      op: change.op,
      row_id: this.deps.ids.uuid(),
      outbox_id: this.deps.ids.uuid(),
    }));
    const [rows = []] = await this.deps.db.transaction((sql) => [sql.query(WRITE_SQL, [JSON.stringify(input), SETTINGS_FAST_COPY_TOPIC])], "settings sync write");
    const byRow = new Map(changes.map((change) => [`${change.userId}:${change.type}`, change]));
    const pick = (kind: string) => rows.filter((row) => row.kind === kind).flatMap((row) => byRow.get(`${String(row.user_id)}:${String(row.setting_type)}`) ?? []);
    const settled = (kind: string) =>
      rows.filter((row) => row.kind === kind).flatMap((row) => {
        const change = byRow.get(`${String(row.user_id)}:${String(row.setting_type)}`);
        return change ? [{ ...change, expected: Number(row.version), updatedAt: new Date(row.updated_at as string | Date) }] : [];
      });
    const written = settled("written");
    const same = settled("same");
    return { written, same, conflicted: pick("conflict") };
  }

  /** The meta of each written (or already equal) type moved to its Postgres version, in one script; a miss is repaired by the next run. */
  private async moveMetas(changes: readonly SettingsChange[]): Promise<void> {
    if (changes.length === 0) return;
    const args = changes.flatMap((change) => {
      const updatedAt = (change.updatedAt ?? new Date(0)).toISOString();
      const meta = encodeMeta({ version: change.expected ?? 1, hash: change.hash, updatedAt, settings: change.document });
      return [change.type, change.metaVersion === null ? "" : String(change.metaVersion), meta];
    });
    // Redis down after the commit: the next run finds Redis equal to Postgres and moves the meta then.
    await this.deps.redis.eval(MOVE_METAS, changes.map((change) => this.deps.keys.settingsMeta(change.base)), args).catch(() => 0);
  }
}

const WRITE_SQL = `WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS t(user_id uuid, setting_type text, settings jsonb, expected int, op text, row_id uuid, outbox_id uuid)),
  -- Redis says in other words what Postgres holds (same document): no new version, only the meta moves.
  same AS (
    SELECT i.user_id, i.setting_type, s.version, s.updated_at FROM input i
    JOIN user_settings s ON s.user_id = i.user_id AND s.setting_type = i.setting_type
    WHERE i.op = 'version' AND s.version = i.expected AND s.deleted_at IS NULL AND s.settings = i.settings),
  updated AS (
    UPDATE user_settings s SET settings = i.settings, version = s.version + 1, deleted_at = NULL, is_active = true, updated_at = now()
    FROM input i
    WHERE i.op = 'version' AND i.expected IS NOT NULL AND s.user_id = i.user_id AND s.setting_type = i.setting_type AND s.version = i.expected
      AND (s.settings IS DISTINCT FROM i.settings OR s.deleted_at IS NOT NULL)
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
      AND NOT EXISTS (SELECT 1 FROM written w WHERE w.user_id = i.user_id AND w.setting_type = i.setting_type)
      AND NOT EXISTS (SELECT 1 FROM same m WHERE m.user_id = i.user_id AND m.setting_type = i.setting_type)),
  history AS (
    INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, changed_at, actor, source)
    SELECT w.id, w.user_id, w.setting_type, w.version, w.settings, w.updated_at, 'sync', 'sync' FROM written w
    UNION ALL
    SELECT COALESCE(s.id, c.row_id), c.user_id, c.setting_type, COALESCE(s.version, 1), c.settings, now(), 'sync', 'sync-conflict'
    FROM conflicted c LEFT JOIN user_settings s ON s.user_id = c.user_id AND s.setting_type = c.setting_type),
  refreshes AS (
    INSERT INTO outbox (id, topic, key, payload, next_attempt_at)
    SELECT c.outbox_id, $2, c.user_id::text || ':' || c.setting_type, jsonb_build_object('userId', c.user_id, 'type', c.setting_type), now()
    FROM conflicted c)
  SELECT 'written' AS kind, user_id::text AS user_id, setting_type, version, updated_at FROM written
  UNION ALL SELECT 'same', user_id::text, setting_type, version, updated_at FROM same
  UNION ALL SELECT 'conflict', user_id::text, setting_type, NULL, NULL FROM conflicted`;

function toRowState(row: Row): SettingsRowState {
  const hasRow = row.version !== null && row.version !== undefined;
  return {
    userId: row.user_id === null || row.user_id === undefined ? null : String(row.user_id),
    version: hasRow ? Number(row.version) : null,
    settings: hasRow && row.settings !== null && row.settings !== undefined ? (row.settings as SettingsDocument) : null,
    deleted: row.deleted === true,
    updatedAt: hasRow ? new Date(row.updated_at as string | Date) : null,
  };
}

type Entry = { readonly key: string; readonly parts: { readonly base: string; readonly type: SettingsType } };

/** What the meta of a type says: the version it was written from, and the content hash unless deleted. */
type Stamp = { readonly version: number; readonly hash: string | null };

type Reply = { content: unknown; stamp: Stamp | null; error?: string };

function parseStamp(raw: unknown): Stamp | null {
  if (typeof raw !== "string") return null;
  const match = /^([0-9]+)\|(.*)$/.exec(raw);
  if (!match) return null;
  return { version: Number(match[1]), hash: match[2] === "" ? null : (match[2] ?? null) };
}

function invalid(key: string, problems: readonly { path: string; reason: string }[]): SyncRead<SettingsCandidate> {
  return { kind: "invalid", key, problems };
}

/** The key's value validated into a candidate; skipped when gone or when it still is what was last synced. */
function candidate(key: string, base: string, type: SettingsType, reply: Reply | undefined): SyncRead<SettingsCandidate> {
  if (!reply || reply.error !== undefined) return invalid(key, [{ path: "key", reason: `cannot read: ${reply?.error ?? "no reply"}` }]);
  const { content, stamp } = reply;
  if (content === null || content === undefined) return { kind: "skip", key };
  const hash = isRecord(content) ? legacyContentHash(content) : null;
  if (stamp?.hash && hash !== null && hash === stamp.hash) return { kind: "skip", key };
  try {
    const document = fromLegacyRepresentation(type, content, "$");
    if (hash === null) return invalid(key, [{ path: "value", reason: "is not an object" }]);
    return { kind: "item", key, item: { base, type, document, hash, metaVersion: stamp ? stamp.version : null } };
  } catch (error) {
    if (!(error instanceof UnprocessableError)) throw error;
    return invalid(key, error.issues.map((issue) => ({ path: issue.field === "$" ? "value" : issue.field.replace(/^\$\./, ""), reason: issue.message })));
  }
}
