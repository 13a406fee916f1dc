import { createHash } from "node:crypto";
import type { Redis } from "@upstash/redis";
import type { IdGenerator } from "../../clock";
import type { LegacyKey, PositionKeys } from "../../redis/keys";
import { hashOf } from "../encoding";
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
 * Moves a batch of legacy keys, each atomically (a script runs alone), one entry after the other.
 * A position entry moves only if its key still holds what was read (same fingerprint) and none of
 * its targets exists (or overwrite: then a target keeps its id and opened_at): it writes each
 * target (hash, index member, exchange set, by-id key of a new one), then deletes the legacy key (or
 * leaves the remainder of a GRID array). An orders entry is a RENAMENX. Replies one code per entry:
 * 1 moved, 0 changed since read (read again), 2 a target exists (conflict).
 * ARGV: now, overwrite (1/0), then per entry its kind ("m" or "r"); for "m": fingerprint,
 * remainder ("" = delete), target count, then per target member, exchange, id, by-id value,
 * opened_at, field count, fields. KEYS per entry: legacy, then (m) per target hash, index,
 * exchanges, by-id, or (r) the new name.
 */
const MOVE = `local function fingerprint(key)
  local t = redis.call("TYPE", key)["ok"]
  if t == "string" then return redis.sha1hex(redis.call("GET", key)) end
  if t == "hash" then return redis.sha1hex(table.concat(redis.call("HGETALL", key), "\\0")) end
  return ""
end
local now, overwrite = ARGV[1], ARGV[2] == "1"
local a, k, out = 3, 1, {}
while a <= #ARGV do
  local kind = ARGV[a]
  local legacy = KEYS[k]
  if kind == "r" then
    out[#out + 1] = redis.call("RENAMENX", legacy, KEYS[k + 1]) == 1 and 1 or 2
    a, k = a + 1, k + 2
  else
    local n = tonumber(ARGV[a + 3])
    local code = 1
    if fingerprint(legacy) ~= ARGV[a + 1] then code = 0 end
    if code == 1 and not overwrite then
      for i = 1, n do
        if redis.call("EXISTS", KEYS[k + 1 + (i - 1) * 4]) == 1 then code = 2 end
      end
    end
    local t = a + 4
    for i = 1, n do
      local base = k + 1 + (i - 1) * 4
      local count = tonumber(ARGV[t + 5])
      if code == 1 then
        local id, opened = ARGV[t + 2], ARGV[t + 4]
        local existing = overwrite and redis.call("HGET", KEYS[base], "id")
        if existing then
          id = existing
          opened = redis.call("HGET", KEYS[base], "opened_at") or opened
          redis.call("DEL", KEYS[base])
        else
          redis.call("SET", KEYS[base + 3], ARGV[t + 3])
        end
        local fields = {"id", id, "opened_at", opened, "updated_at", now}
        for j = 1, count * 2 do fields[#fields + 1] = ARGV[t + 5 + j] end
        redis.call("HSET", KEYS[base], unpack(fields))
        redis.call("SADD", KEYS[base + 1], ARGV[t])
        redis.call("SADD", KEYS[base + 2], ARGV[t + 1])
      end
      t = t + 6 + count * 2
    end
    if code == 1 then
      if ARGV[a + 2] == "" then redis.call("DEL", legacy) else redis.call("SET", legacy, ARGV[a + 2]) end
    end
    out[#out + 1] = code
    a, k = t, k + 1 + n * 4
  end
end
return out`;

/** Entries per script call: a call runs alone in Redis, so it stays short (a few ms). */
const MOVE_BATCH = 100;

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
    const batches: MoveEntry[][] = [];
    for (let i = 0; i < work.length; i += MOVE_BATCH) batches.push(work.slice(i, i + MOVE_BATCH));
    const pipeline = this.redis.pipeline();
    for (const batch of batches) {
      const keys: string[] = [];
      const args = [now.toISOString(), overwrite ? "1" : "0"];
      for (const entry of batch) this.queue(entry, now, keys, args);
      pipeline.evalsha(this.shas.move, keys, args);
    }
    const replies = await pipeline.exec<unknown[]>({ keepErrors: true });
    const byKey = new Map<string, MoveOutcome>();
    batches.forEach((batch, b) => {
      const reply = replies[b];
      const codes = !reply?.error && Array.isArray(reply?.result) ? (reply.result as unknown[]) : [];
      batch.forEach((entry, i) => byKey.set(entry.key, outcomeOf(codes[i])));
    });
    return entries.map((entry) => byKey.get(entry.key) ?? "skipped");
  }

  private queue(entry: MoveEntry, now: Date, keys: string[], args: string[]): void {
    const { legacy, plan } = entry;
    if (plan.kind === "rename" && legacy.form === "order_placed") {
      keys.push(entry.key, this.ordersTarget(legacy));
      args.push("r");
      return;
    }
    if (plan.kind !== "move") return;
    const at = now.toISOString();
    keys.push(entry.key);
    args.push("m", entry.fingerprint, plan.remainder ?? "", String(plan.targets.length));
    for (const t of plan.targets) {
      const id = this.ids.uuid();
      keys.push(this.keys.position(t.userId, t.exchange, t.symbol, t.side), this.keys.positionIndex(t.userId, t.exchange), this.keys.positionExchanges(t.userId), this.keys.positionById(id));
      const ref = JSON.stringify({ userId: t.userId, exchange: t.exchange, symbol: t.symbol, side: t.side });
      args.push(this.keys.positionIndexMember(t.symbol, t.side), t.exchange, id, ref, t.openedAt ?? at, String(Object.keys(t.fields).length), ...Object.entries(t.fields).flat());
    }
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

/** A batch that failed as a whole (Redis refused it) leaves its entries failed: nothing of it ran. */
function outcomeOf(code: unknown): MoveOutcome {
  const value = Number(code);
  return value === 1 ? "moved" : value === 2 ? "conflict" : value === 0 ? "changed" : "failed";
}
