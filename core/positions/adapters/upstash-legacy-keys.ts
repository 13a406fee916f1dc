import { createHash } from "node:crypto";
import type { Redis } from "@upstash/redis";
import type { IdGenerator } from "../../clock";
import type { LegacyKey, PositionKeys } from "../../redis/keys";
import { hashOf } from "../encoding";
import type { LegacyPlan } from "../legacy-plan";
import type { LegacyKeyStore, LegacyRead, MigrationState, MoveEntry, MoveOutcome } from "../migrate-keys";

/** Type, value and a fingerprint of each key (sha1 of the string, or of the hash's fields in HGETALL order). */
const READ = `local out = {}
for i, key in ipairs(KEYS) do
  local t = redis.call("TYPE", key)["ok"]
  if t == "string" then
    local v = redis.call("GET", key)
    out[i] = {t, v, redis.sha1hex(v)}
  elseif t == "hash" then
    local h = redis.call("HGETALL", key)
    out[i] = {t, h, redis.sha1hex(table.concat(h, "\\0"))}
  else
    out[i] = {t}
  end
end
return out`;

/**
 * Moves one legacy key atomically, only if it still holds what was read (same fingerprint) and
 * none of its targets exists (or --overwrite: then a target keeps its id and opened_at): writes each
 * target (hash, index member, exchange, by-id key of a new one), then deletes the legacy key (or
 * leaves the remainder of a GRID array). Replies {1} moved, {0} changed since read (read again),
 * {2, i} target i exists (conflict). KEYS: legacy, then per target hash, index, exchanges, by-id.
 * ARGV: fingerprint, remainder ("" = delete), now, n, overwrite (1/0), then per target member,
 * exchange, id, by-id value, opened_at, field count, fields.
 */
const MOVE = `local function fingerprint(key)
  local t = redis.call("TYPE", key)["ok"]
  if t == "string" then return redis.sha1hex(redis.call("GET", key)) end
  if t == "hash" then return redis.sha1hex(table.concat(redis.call("HGETALL", key), "\\0")) end
  return ""
end
if fingerprint(KEYS[1]) ~= ARGV[1] then return {0} end
local n = tonumber(ARGV[4])
local overwrite = ARGV[5] == "1"
if not overwrite then
  for i = 1, n do
    if redis.call("EXISTS", KEYS[2 + (i - 1) * 4]) == 1 then return {2, i} end
  end
end
local a = 6
for i = 1, n do
  local base = 2 + (i - 1) * 4
  local count = tonumber(ARGV[a + 5])
  local id = redis.call("HGET", KEYS[base], "id")
  local opened = redis.call("HGET", KEYS[base], "opened_at") or ARGV[a + 4]
  if not id then
    id = ARGV[a + 2]
    redis.call("SET", KEYS[base + 3], ARGV[a + 3])
  end
  redis.call("DEL", KEYS[base])
  local fields = {"id", id, "opened_at", opened, "updated_at", ARGV[3]}
  for j = 1, count * 2 do fields[#fields + 1] = ARGV[a + 5 + j] end
  redis.call("HSET", KEYS[base], unpack(fields))
  redis.call("SADD", KEYS[base + 1], ARGV[a])
  redis.call("SADD", KEYS[base + 2], ARGV[a + 1])
  a = a + 6 + count * 2
end
if ARGV[2] == "" then redis.call("DEL", KEYS[1]) else redis.call("SET", KEYS[1], ARGV[2]) end
return {1}`;

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** The legacy key space through @upstash/redis (a client without automatic deserialisation). */
export class UpstashLegacyKeys implements LegacyKeyStore {
  private readonly shas = { read: sha1(READ), move: sha1(MOVE) };
  private loading: Promise<unknown> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: PositionKeys,
    private readonly ids: IdGenerator,
  ) {}

  async scan(cursor: string, count: number): Promise<{ cursor: string; keys: string[] }> {
    const [next, keys] = await this.redis.scan(cursor, { match: this.keys.legacyScanPattern(), count });
    return { cursor: String(next), keys: keys.map(String) };
  }

  async read(keys: readonly string[]): Promise<LegacyRead[]> {
    if (keys.length === 0) return [];
    await this.scriptsLoaded();
    const replies = await this.redis.evalsha<string[], unknown[][]>(this.shas.read, [...keys], []);
    return replies.map((reply): LegacyRead => {
      const [type, value, fingerprint] = reply;
      if (type === "string") return { value: { type: "string", value: String(value) }, fingerprint: String(fingerprint) };
      if (type === "hash") return { value: { type: "hash", value: hashOf(value) ?? {} }, fingerprint: String(fingerprint) };
      return { value: { type: type === "none" ? "none" : "other" }, fingerprint: "" };
    });
  }

  async targetsExist(entries: readonly MoveEntry[]): Promise<boolean[][]> {
    const targets = entries.map((entry) => this.targetKeys(entry));
    const all = targets.flat();
    if (all.length === 0) return targets.map(() => []);
    const pipeline = this.redis.pipeline();
    for (const key of all) pipeline.exists(key);
    const replies = await pipeline.exec<number[]>();
    let next = 0;
    return targets.map((keys) => keys.map(() => Number(replies[next++]) === 1));
  }

  private targetKeys({ legacy, plan }: MoveEntry): string[] {
    if (plan.kind === "rename" && legacy.form === "order_placed") return [this.ordersTarget(legacy)];
    if (plan.kind !== "move") return [];
    return plan.targets.map((t) => this.keys.position(t.userId, t.exchange, t.symbol, t.side));
  }

  private ordersTarget(legacy: Extract<LegacyKey, { form: "order_placed" }>): string {
    return this.keys.orders(legacy.exchange, legacy.user, legacy.symbol.toUpperCase(), legacy.suffix);
  }

  async apply(entries: readonly MoveEntry[], now: Date, overwrite: boolean): Promise<MoveOutcome[]> {
    const work = entries.filter((entry) => entry.plan.kind === "move" || entry.plan.kind === "rename");
    if (work.length === 0) return entries.map(() => "skipped");
    await this.scriptsLoaded();
    const pipeline = this.redis.pipeline();
    for (const entry of work) this.queue(pipeline, entry, now, overwrite);
    const replies = await pipeline.exec<unknown[]>({ keepErrors: true });
    const byKey = new Map(work.map((entry, i) => [entry.key, replies[i]?.error ? "failed" : outcomeOf(entry.plan, replies[i]?.result)] as const));
    return entries.map((entry) => byKey.get(entry.key) ?? "skipped");
  }

  private queue(pipeline: ReturnType<Redis["pipeline"]>, entry: MoveEntry, now: Date, overwrite: boolean): void {
    const { legacy, plan } = entry;
    if (plan.kind === "rename" && legacy.form === "order_placed") {
      pipeline.renamenx(entry.key, this.ordersTarget(legacy));
      return;
    }
    if (plan.kind !== "move") return;
    const at = now.toISOString();
    const keys = [entry.key];
    const args = [entry.fingerprint, plan.remainder ?? "", at, String(plan.targets.length), overwrite ? "1" : "0"];
    for (const t of plan.targets) {
      const id = this.ids.uuid();
      keys.push(this.keys.position(t.userId, t.exchange, t.symbol, t.side), this.keys.positionIndex(t.userId, t.exchange), this.keys.positionExchanges(t.userId), this.keys.positionById(id));
      const ref = JSON.stringify({ userId: t.userId, exchange: t.exchange, symbol: t.symbol, side: t.side });
      args.push(this.keys.positionIndexMember(t.symbol, t.side), t.exchange, id, ref, t.openedAt ?? at, String(Object.keys(t.fields).length), ...Object.entries(t.fields).flat());
    }
    pipeline.evalsha(this.shas.move, keys, args);
  }

  /**
   * Loads both scripts once per run, before the first page: a pipeline that met NOSCRIPT half way
   * could not simply be sent again (its renames would then read as conflicts).
   */
  private scriptsLoaded(): Promise<unknown> {
    this.loading ??= Promise.all([this.redis.scriptLoad(READ), this.redis.scriptLoad(MOVE)]).catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  async loadState(): Promise<MigrationState | null> {
    const raw = await this.redis.get<string>(this.keys.migrateKeysState());
    if (typeof raw !== "string") return null;
    try {
      return JSON.parse(raw) as MigrationState;
    } catch {
      return null;
    }
  }

  async saveState(state: MigrationState): Promise<void> {
    await this.redis.set(this.keys.migrateKeysState(), JSON.stringify(state));
  }

  async clearState(): Promise<void> {
    await this.redis.del(this.keys.migrateKeysState());
  }
}

function outcomeOf(plan: LegacyPlan, reply: unknown): MoveOutcome {
  if (plan.kind === "rename") return Number(reply) === 1 ? "moved" : "conflict";
  const code = Array.isArray(reply) ? Number(reply[0]) : Number.NaN;
  return code === 1 ? "moved" : code === 2 ? "conflict" : "changed";
}
