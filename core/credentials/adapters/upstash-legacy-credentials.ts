import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../../redis/keys";
import type { LegacyCredentialsEntry, LegacyCredentialsSource, PlaintextDeletion } from "../ports";

/**
 * Removes the plaintext fields only if the hash still holds the values that were copied: a bot
 * that wrote new keys meanwhile keeps them (the next run copies those). ARGV: n, then n field /
 * value pairs to compare, then the fields to delete.
 */
const COMPARE_AND_HDEL = `
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  if redis.call('HGET', KEYS[1], ARGV[2 + 2 * i]) ~= ARGV[3 + 2 * i] then return 0 end
end
return redis.call('HDEL', KEYS[1], unpack(ARGV, 2 + 2 * n))`;

/**
 * The old `user:{okx_uid}:api:keys` hashes through @upstash/redis. The client must be built with
 * automaticDeserialization off, so values come back exactly as stored (a passphrase `0123` stays a
 * string) — see rawRedisClient in runtime/credentials.ts.
 */
export class UpstashLegacyCredentials implements LegacyCredentialsSource {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async scan(cursor: string, count: number): Promise<{ cursor: string; keys: string[] }> {
    const [next, found] = await this.redis.scan(cursor, { match: this.keys.legacyApiKeysPattern(), count });
    return { cursor: String(next), keys: found.map(String) };
  }

  async read(keyNames: readonly string[]): Promise<LegacyCredentialsEntry[]> {
    if (keyNames.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keyNames) pipeline.hgetall(key);
    const replies = await pipeline.exec<unknown[]>({ keepErrors: true });
    return keyNames.map((key, index) => {
      const reply = replies[index];
      if (!reply || reply.error) return { key, fields: null, error: reply?.error ?? "no reply" };
      return { key, fields: stringFields(reply.result) };
    });
  }

  okxUidOf(key: string): string | null {
    return this.keys.okxUidOfLegacyApiKeys(key);
  }

  async deletePlaintext(entries: readonly PlaintextDeletion[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { key, expected } of entries) {
      const pairs = Object.entries(expected);
      pipeline.eval(COMPARE_AND_HDEL, [key], [String(pairs.length), ...pairs.flat(), ...pairs.map(([field]) => field)]);
    }
    const replies = await pipeline.exec<unknown[]>();
    return replies.map((removed) => Number(removed) > 0);
  }

  async savedCursor(): Promise<string | null> {
    const value = await this.redis.get<string>(this.keys.credentialsMigrationCursor());
    return value === null ? null : String(value);
  }

  async saveCursor(cursor: string): Promise<void> {
    await this.redis.set(this.keys.credentialsMigrationCursor(), cursor);
  }

  async clearCursor(): Promise<void> {
    await this.redis.del(this.keys.credentialsMigrationCursor());
  }
}

/** HGETALL's answer as field -> string (null when the key does not exist). */
function stringFields(result: unknown): Record<string, string> | null {
  if (result === null || result === undefined) return null;
  if (Array.isArray(result)) {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < result.length; i += 2) fields[String(result[i])] = String(result[i + 1]);
    return Object.keys(fields).length > 0 ? fields : null;
  }
  if (typeof result === "object") {
    const entries = Object.entries(result as Record<string, unknown>).map(([name, value]) => [name, String(value)] as const);
    return entries.length > 0 ? Object.fromEntries(entries) : null;
  }
  return null;
}
