import type { Redis } from "@upstash/redis";
import type { IdGenerator } from "../../clock";
import type { Database, Row } from "../../db/database";
import { sqlStateOf } from "../../db/database";
import { isUuid } from "../../identity/uuid";
import { okxUidProblem, telegramIdMisreadProblem, telegramIdProblem } from "../../lookups/identifier";
import type { Identifier } from "../../lookups/identifier";
import type { OwedInvalidationCache } from "../../lookups/invalidation";
import type { RedisKeys } from "../../redis/keys";
import { planIdentifiers } from "../identifiers-plan";
import type { IdentifierCandidate, IdentifierChange, StoredIdentity } from "../identifiers-plan";
import type { SyncFilter, SyncFailure } from "../model";
import type { SyncApplyResult, SyncDecision, SyncItem, SyncPlanContext, SyncRead, SyncSource, SyncWork } from "../ports";

export interface IdentifiersSourceDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly db: Database;
  /** The lookup cache, invalidated for every identifier a page wrote (a cached "unknown" must go). */
  readonly cache: OwedInvalidationCache;
  readonly ids: IdGenerator;
}

/**
 * The legacy registration hashes that the mapping import reads (`user:{okx_uid}:api:keys`,
 * `user:{okx_uid}:preferences` with a `telegram_id` field), so that a mapping an old bot wrote only
 * to Redis reaches Postgres. Rules: identifiers-plan.ts. Only `telegram_id` is ever read, never
 * the API keys beside it.
 */
export class IdentifiersSyncSource implements SyncSource<IdentifierCandidate, IdentifierChange> {
  readonly name = "identifiers";

  constructor(private readonly deps: IdentifiersSourceDeps) {}

  patterns(filter: SyncFilter): readonly string[] {
    const { keys } = this.deps;
    if (filter.okxUid !== undefined) return [keys.legacyApiKeys(filter.okxUid), keys.legacyPreferences(filter.okxUid)];
    return keys.legacyRegistrationPatterns();
  }

  async read(keyNames: readonly string[]): Promise<readonly SyncRead<IdentifierCandidate>[]> {
    const named = keyNames.map((key) => ({ key, id: this.deps.keys.okxUidOfLegacyKey(key) }));
    const readable = named.filter((entry): entry is { key: string; id: string } => entry.id !== null && !isUuid(entry.id) && okxUidProblem(entry.id) === null);
    const replies = readable.length > 0 ? await this.telegramIds(readable.map((entry) => entry.id)) : [];
    const byKey = new Map(readable.map((entry, i) => [entry.key, replies[i]]));
    return named.map(({ key, id }): SyncRead<IdentifierCandidate> => {
      // A fast copy kept by user id (a user without an okx uid) names no okx uid: nothing to map.
      if (id !== null && isUuid(id)) return { kind: "skip", key };
      if (id === null) return invalid(key, "key", "does not follow the user:{okx_uid}:… layout");
      const okxProblem = okxUidProblem(id);
      if (okxProblem) return invalid(key, "key", `okx_uid ${okxProblem}`);
      const pair = byKey.get(key);
      const own = key === this.deps.keys.legacyApiKeys(id) ? pair?.apiKeys : pair?.preferences;
      const sibling = key === this.deps.keys.legacyApiKeys(id) ? pair?.preferences : pair?.apiKeys;
      return withDispute(candidate(key, id, own), candidate(key, id, sibling));
    });
  }

  async plan(items: readonly SyncItem<IdentifierCandidate>[], context: SyncPlanContext): Promise<readonly SyncDecision<IdentifierChange>[]> {
    const stored = await this.stored(items.map((entry) => entry.item));
    return planIdentifiers(items, stored, context.planned, () => this.deps.ids.uuid());
  }

  async apply(work: readonly SyncWork<IdentifierChange>[]): Promise<SyncApplyResult> {
    const changes = work.flatMap((decision) => (decision.kind === "write" ? [{ key: decision.key, change: decision.change }] : []));
    const conflicts = work.filter((decision) => decision.kind === "conflict").length;
    const upkeep = work.length - changes.length - conflicts;
    if (changes.length === 0) return { written: 0, conflicts, unchanged: upkeep, failures: [] };
    let applied: Set<string>;
    try {
      applied = await this.write(changes.map((entry) => entry.change));
    } catch (error) {
      if (sqlStateOf(error) !== "23505") throw error;
      // A concurrent writer took one of the identifiers: write one by one, each clash a conflict.
      applied = await this.writeEach(changes.map((entry) => entry.change));
    }
    const failures = await this.invalidate(changes.filter((entry) => applied.has(entry.change.userId)));
    // What was not applied met a concurrent writer (a clash, a filled gap): Postgres wins.
    return { written: applied.size, conflicts: conflicts + changes.length - applied.size, unchanged: upkeep, failures };
  }

  /**
   * Both legacy hashes of each okx uid in one pipeline: whichever of the two a page holds, the
   * other is compared with it, so hashes that disagree are conflicts whatever order SCAN finds them in.
   */
  private async telegramIds(okxUids: readonly string[]): Promise<{ apiKeys: Reply; preferences: Reply }[]> {
    const { keys } = this.deps;
    const pipeline = this.deps.redis.pipeline();
    for (const okx of okxUids) pipeline.hget(keys.legacyApiKeys(okx), "telegram_id").hget(keys.legacyPreferences(okx), "telegram_id");
    const replies = (await pipeline.exec<unknown[]>({ keepErrors: true })).map(
      (reply): Reply => (reply.error ? { value: null, error: String(reply.error) } : { value: reply.result }),
    );
    return okxUids.map((_, i) => ({ apiKeys: replies[2 * i], preferences: replies[2 * i + 1] }));
  }

  /** Every user holding one of the okx uids or chats, in one query (mapping values first). */
  private async stored(items: readonly IdentifierCandidate[]): Promise<StoredIdentity[]> {
    const rows = await this.deps.db.query(
      `WITH held AS (
         SELECT user_id AS id FROM user_identifier_mappings WHERE okx_uid = ANY($1::text[]) OR telegram_id = ANY($2::bigint[])
         UNION SELECT id FROM app_users WHERE okx_uid = ANY($1::text[]) OR telegram_id = ANY($2::bigint[]))
       SELECT a.id::text AS user_id, m.user_id IS NOT NULL AS has_mapping,
              COALESCE(m.telegram_id, a.telegram_id)::text AS telegram_id,
              CASE WHEN m.user_id IS NULL THEN a.okx_uid ELSE m.okx_uid END AS okx_uid,
              COALESCE(m.is_active, a.is_active) AS is_active
       FROM held JOIN app_users a ON a.id = held.id LEFT JOIN user_identifier_mappings m ON m.user_id = a.id`,
      [items.map((item) => item.okxUid), items.map((item) => item.telegramId)],
      "identifiers sync plan",
    );
    return rows.map(toStored);
  }

  /**
   * One statement for the page: new app users with their mappings, and okx uids given to active
   * users that had none (only while they still have none: a concurrent admin write wins).
   */
  private async write(changes: readonly IdentifierChange[]): Promise<Set<string>> {
    const [rows] = await this.deps.db.transaction(
      (sql) => [
        sql.query(
          `WITH input AS (
             SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[]) AS t(op, user_id, telegram_id, okx_uid)),
           new_users AS (
             INSERT INTO app_users (id, telegram_id, okx_uid) SELECT user_id, telegram_id, okx_uid FROM input WHERE op = 'insert' RETURNING id),
           new_mappings AS (
             INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, source)
             SELECT user_id, telegram_id, okx_uid, 'import' FROM input WHERE op = 'insert' RETURNING user_id),
           filled AS (
             UPDATE user_identifier_mappings m SET okx_uid = i.okx_uid, source = 'import' FROM input i
             WHERE i.op = 'fill' AND m.user_id = i.user_id AND m.okx_uid IS NULL AND m.is_active AND m.telegram_id = i.telegram_id
             RETURNING m.user_id),
           filled_users AS (
             UPDATE app_users a SET okx_uid = i.okx_uid FROM input i JOIN filled f ON f.user_id = i.user_id
             WHERE a.id = i.user_id AND a.okx_uid IS DISTINCT FROM i.okx_uid RETURNING a.id)
           SELECT user_id::text AS user_id FROM new_mappings UNION ALL SELECT user_id::text FROM filled`,
          [changes.map((c) => c.op), changes.map((c) => c.userId), changes.map((c) => c.telegramId), changes.map((c) => c.okxUid)],
        ),
      ],
      "identifiers sync write",
    );
    return new Set((rows ?? []).map((row) => String(row.user_id)));
  }

  private async writeEach(changes: readonly IdentifierChange[]): Promise<Set<string>> {
    const applied = new Set<string>();
    for (const change of changes) {
      try {
        for (const userId of await this.write([change])) applied.add(userId);
      } catch (error) {
        if (sqlStateOf(error) !== "23505") throw error;
      }
    }
    return applied;
  }

  /** Drops cached answers (a negative "unknown" above all) of what was written, in one call. */
  private async invalidate(written: readonly { key: string; change: IdentifierChange }[]): Promise<SyncFailure[]> {
    if (written.length === 0) return [];
    const identifiers: Identifier[] = written.flatMap(({ change }) => [
      { kind: "okx_uid", value: change.okxUid },
      { kind: "telegram_id", value: change.telegramId },
      { kind: "user_id", value: change.userId },
    ]);
    try {
      await this.deps.cache.invalidateOrThrow(identifiers);
      return [];
    } catch (error) {
      const reason = `written, but the lookup cache could not be invalidated (stale until its TTL): ${error instanceof Error ? error.message : String(error)}`;
      return written.map(({ key }) => ({ key, reason }));
    }
  }
}

type Reply = { value: unknown; error?: string } | undefined;

/** The key's own reading, turned into a conflict when the other legacy hash of its okx uid names another chat. */
function withDispute(own: SyncRead<IdentifierCandidate>, sibling: SyncRead<IdentifierCandidate>): SyncRead<IdentifierCandidate> {
  if (own.kind !== "item" || sibling.kind !== "item" || sibling.item.telegramId === own.item.telegramId) return own;
  const { okxUid, telegramId } = own.item;
  const dispute = `the legacy hashes of okx_uid ${okxUid} disagree: telegram_id ${telegramId} here, ${sibling.item.telegramId} in the other`;
  return { ...own, item: { okxUid, telegramId, dispute } };
}

function toStored(row: Row): StoredIdentity {
  return {
    userId: String(row.user_id),
    telegramId: String(row.telegram_id),
    okxUid: row.okx_uid === null || row.okx_uid === undefined ? null : String(row.okx_uid),
    isActive: row.is_active === true,
    hasMapping: row.has_mapping === true,
  };
}

function invalid(key: string, path: string, reason: string): SyncRead<IdentifierCandidate> {
  return { kind: "invalid", key, problems: [{ path, reason }] };
}

/** The hash's telegram_id as a candidate; a hash without one carries no mapping (the settings' fast copy). */
function candidate(key: string, okxUid: string, reply: Reply): SyncRead<IdentifierCandidate> {
  if (!reply || reply.error !== undefined) return invalid(key, "key", `cannot read telegram_id: ${reply?.error ?? "no reply"}`);
  const raw = reply.value;
  if (raw === null || raw === undefined || (typeof raw === "string" && raw.trim() === "")) return { kind: "skip", key };
  if (typeof raw === "number" && !Number.isSafeInteger(raw)) return invalid(key, "telegram_id", "is a number too large to be exact");
  if (typeof raw !== "string" && typeof raw !== "number") return invalid(key, "telegram_id", "must be an integer");
  const telegramId = String(raw).trim();
  const problem = telegramIdProblem(telegramId) ?? telegramIdMisreadProblem(telegramId);
  if (problem) return invalid(key, "telegram_id", problem);
  return { kind: "item", key, item: { okxUid, telegramId } };
}
