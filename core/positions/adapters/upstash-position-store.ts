import { createHash } from "node:crypto";
import type { Redis } from "@upstash/redis";
import { UnavailableError } from "../../errors";
import type { PositionKeys } from "../../redis/keys";
import { decodePosition, encodePosition, hashOf } from "../encoding";
import type { PositionFields, PositionRef } from "../model";
import type { OpenFilter, OpenPosition, OpenPositionStore, SetOutcome } from "../ports";

/**
 * Writes the hash (replacing its fields: a PUT says the whole state), keeps id and opened_at of a
 * position already open, adds the index member and the exchange, and on opening points the by-id
 * key at it. KEYS: hash, index, exchanges, by-id of the new id. ARGV: member, exchange, new id, now,
 * by-id value, then field, value, ...
 */
const SET = `local existed = redis.call("EXISTS", KEYS[1])
local id = redis.call("HGET", KEYS[1], "id")
local opened = redis.call("HGET", KEYS[1], "opened_at")
if not id then
  id = ARGV[3]
  redis.call("SET", KEYS[4], ARGV[5])
end
if not opened then opened = ARGV[4] end
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "id", id, "opened_at", opened, "updated_at", ARGV[4], unpack(ARGV, 6))
redis.call("SADD", KEYS[2], ARGV[1])
redis.call("SADD", KEYS[3], ARGV[2])
return {1 - existed, id, opened}`;

/** Removes the hash, its index member and its by-id key if the hash still has this id ("" = any). KEYS: hash, index, by-id. */
const REMOVE = `local id = redis.call("HGET", KEYS[1], "id")
if ARGV[2] ~= "" and id ~= ARGV[2] then return 0 end
if redis.call("DEL", KEYS[1]) == 0 then return 0 end
redis.call("SREM", KEYS[2], ARGV[1])
if #KEYS > 2 then redis.call("DEL", KEYS[3]) end
return 1`;

/**
 * A user's open positions in one round trip: the exchanges (ARGV[3], or the set KEYS[1]), each
 * index, each hash. Key names are the prefixes of PositionKeys.positionScriptPrefixes plus the
 * exchange and the index member (`{symbol}:{side}`). Returns {exchange, member, flat hash} triples.
 */
const LIST_OPEN = `local exchanges
if ARGV[3] ~= "" then exchanges = {ARGV[3]} else exchanges = redis.call("SMEMBERS", KEYS[1]) end
local out = {}
for _, exchange in ipairs(exchanges) do
  local members = redis.call("SMEMBERS", ARGV[1] .. exchange)
  for _, member in ipairs(members) do
    out[#out + 1] = {exchange, member, redis.call("HGETALL", ARGV[2] .. exchange .. ":" .. member)}
  end
end
return out`;

type ListReply = readonly (readonly [string, string, unknown])[];

/** Redis failures become 503s: reads changed nothing; a script write may or may not have run. */
async function guarded<T>(what: string, write: boolean, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new UnavailableError(`positions: ${what} failed in Redis`, { cause: error, outcome: write ? "unknown" : "not_applied" });
  }
}

/** Open positions in Redis via @upstash/redis (a client without automatic deserialisation). */
export class UpstashPositionStore implements OpenPositionStore {
  private listSha: string | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: PositionKeys,
  ) {}

  async set(ref: PositionRef, fields: PositionFields, now: Date, newId: string): Promise<SetOutcome> {
    const at = now.toISOString();
    const { id: _i, opened_at: _o, updated_at: _u, ...hash } = encodePosition({ ...fields, id: newId, opened_at: at, updated_at: at });
    const keys = [
      this.keys.position(ref.userId, ref.exchange, ref.symbol, ref.side),
      this.keys.positionIndex(ref.userId, ref.exchange),
      this.keys.positionExchanges(ref.userId),
      this.keys.positionById(newId),
    ];
    const args = [this.keys.positionIndexMember(ref.symbol, ref.side), ref.exchange, newId, at, JSON.stringify(refOf(ref)), ...Object.entries(hash).flat()];
    const [created, id, openedAt] = await guarded("set", true, () => this.redis.eval<string[], [number, string, string]>(SET, keys, args));
    return { created: Number(created) === 1, document: { ...fields, id: String(id), opened_at: String(openedAt), updated_at: at } };
  }

  async get(ref: PositionRef): Promise<OpenPosition | null> {
    const reply = await guarded("get", false, () => this.redis.hgetall(this.keys.position(ref.userId, ref.exchange, ref.symbol, ref.side)));
    const document = decodePosition(hashOf(reply));
    return document ? { ...refOf(ref), document } : null;
  }

  async getById(id: string): Promise<OpenPosition | null> {
    const raw = await guarded("get by id", false, () => this.redis.get<string>(this.keys.positionById(id)));
    const ref = parseRef(raw);
    if (!ref) return null;
    const position = await this.get(ref);
    return position && position.document.id === id ? position : null;
  }

  async remove(ref: PositionRef, id: string): Promise<boolean> {
    const keys = [this.keys.position(ref.userId, ref.exchange, ref.symbol, ref.side), this.keys.positionIndex(ref.userId, ref.exchange)];
    if (id !== "") keys.push(this.keys.positionById(id));
    const removed = await guarded("remove", true, () => this.redis.eval<string[], number>(REMOVE, keys, [this.keys.positionIndexMember(ref.symbol, ref.side), id]));
    return Number(removed) === 1;
  }

  async listOpen(userId: string, filter: OpenFilter): Promise<OpenPosition[]> {
    const call = () => this.redis.evalsha<string[], ListReply>(this.listScriptSha(), ...this.listCall(userId, filter));
    const reply = await guarded("list", false, () => call().catch((error: unknown) => this.retryUnloaded(error, call)));
    return this.positionsOf(userId, reply, filter);
  }

  async bulk(userIds: readonly string[], filter: OpenFilter): Promise<Map<string, OpenPosition[]>> {
    const result = new Map<string, OpenPosition[]>();
    if (userIds.length === 0) return result;
    const replies = await guarded("bulk read", false, () => this.bulkReplies(userIds, filter));
    userIds.forEach((userId, index) => {
      const reply = replies[index];
      result.set(userId, exact(filter) ? this.exactPosition(userId, filter, reply) : this.positionsOf(userId, (reply ?? []) as ListReply, filter));
    });
    return result;
  }

  private async bulkReplies(userIds: readonly string[], filter: OpenFilter): Promise<unknown[]> {
    const run = async (): Promise<unknown[]> => {
      const pipeline = this.redis.pipeline();
      for (const userId of userIds) {
        if (exact(filter)) pipeline.hgetall(this.keys.position(userId, filter.exchange, filter.symbol, filter.side));
        else pipeline.evalsha(this.listScriptSha(), ...this.listCall(userId, filter));
      }
      return pipeline.exec();
    };
    return run().catch((error: unknown) => this.retryUnloaded(error, run));
  }

  private listCall(userId: string, filter: OpenFilter): [string[], string[]] {
    const prefixes = this.keys.positionScriptPrefixes(userId);
    return [[this.keys.positionExchanges(userId)], [prefixes.index, prefixes.hash, filter.exchange ?? ""]];
  }

  /** EVALSHA of a script this container has not loaded yet (or Redis forgot): load it, try once more. */
  private async retryUnloaded<T>(error: unknown, again: () => Promise<T>): Promise<T> {
    if (!String(error).includes("NOSCRIPT")) throw error;
    this.listSha = await this.redis.scriptLoad(LIST_OPEN);
    return again();
  }

  private listScriptSha(): string {
    this.listSha ??= createHash("sha1").update(LIST_OPEN).digest("hex");
    return this.listSha;
  }

  private exactPosition(userId: string, filter: OpenFilter, reply: unknown): OpenPosition[] {
    const document = decodePosition(hashOf(reply));
    if (!document || !exact(filter)) return [];
    return [{ userId, exchange: filter.exchange, symbol: filter.symbol, side: filter.side, document }];
  }

  private positionsOf(userId: string, reply: ListReply, filter: OpenFilter): OpenPosition[] {
    const positions: OpenPosition[] = [];
    for (const [exchange, member, hash] of reply) {
      const parsed = this.keys.parsePositionIndexMember(String(member));
      if (!parsed || (filter.symbol && parsed.symbol !== filter.symbol) || (filter.side && parsed.side !== filter.side)) continue;
      const document = decodePosition(hashOf(hash));
      if (document) positions.push({ userId, exchange: String(exchange), symbol: parsed.symbol, side: parsed.side, document });
    }
    return positions.sort(byKey);
  }
}

function exact(filter: OpenFilter): filter is Required<{ [K in keyof OpenFilter]: NonNullable<OpenFilter[K]> }> {
  return filter.exchange !== undefined && filter.symbol !== undefined && filter.side !== undefined;
}

function refOf(ref: PositionRef): PositionRef {
  return { userId: ref.userId, exchange: ref.exchange, symbol: ref.symbol, side: ref.side };
}

function parseRef(raw: unknown): PositionRef | null {
  if (typeof raw !== "string") return null;
  try {
    const value = JSON.parse(raw) as Partial<PositionRef>;
    if (typeof value.userId === "string" && typeof value.exchange === "string" && typeof value.symbol === "string" && (value.side === "long" || value.side === "short")) {
      return { userId: value.userId, exchange: value.exchange, symbol: value.symbol, side: value.side };
    }
  } catch {
    // Not ours: treated as absent.
  }
  return null;
}

export function byKey(a: PositionRef, b: PositionRef): number {
  return a.exchange.localeCompare(b.exchange) || a.symbol.localeCompare(b.symbol) || a.side.localeCompare(b.side);
}

