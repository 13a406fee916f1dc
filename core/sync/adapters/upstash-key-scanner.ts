import type { Redis } from "@upstash/redis";
import type { KeyPage, KeyScanner } from "../ports";

const GLOB = /[*?[\]\\]/;

/** SCAN with MATCH and COUNT through @upstash/redis (never KEYS); an exact key is one EXISTS. */
export class UpstashKeyScanner implements KeyScanner {
  constructor(private readonly redis: Redis) {}

  async scan(pattern: string, cursor: string, count: number): Promise<KeyPage> {
    if (!GLOB.test(pattern)) {
      // One user's keys (`--okx-uid`): walking the whole key space to find one name would be absurd.
      const exists = await this.redis.exists(pattern);
      return { cursor: "0", keys: exists > 0 ? [pattern] : [] };
    }
    const [next, keys] = await this.redis.scan(cursor, { match: pattern, count });
    return { cursor: String(next), keys: keys.map(String) };
  }
}
