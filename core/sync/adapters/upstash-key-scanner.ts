import type { Redis } from "@upstash/redis";
import type { KeyPage, KeyScanner } from "../ports";

const GLOB = /[*?[\]\\]/;
/** SCAN calls one page may make while gathering keys (each examines `count` keys of the whole key space). */
const MAX_SCANS_PER_PAGE = 20;

/**
 * SCAN with MATCH and COUNT through @upstash/redis (never KEYS); an exact key is one EXISTS. A
 * page gathers matches over several SCAN calls until it holds about `count` keys, so a sparse
 * pattern in a large key space still yields full pages (one plan query and one write per page).
 */
export class UpstashKeyScanner implements KeyScanner {
  constructor(private readonly redis: Redis) {}

  async scan(pattern: string, cursor: string, count: number): Promise<KeyPage> {
    if (!GLOB.test(pattern)) {
      // One user's keys (`--okx-uid`): walking the whole key space to find one name would be absurd.
      const exists = await this.redis.exists(pattern);
      return { cursor: "0", keys: exists > 0 ? [pattern] : [] };
    }
    const keys: string[] = [];
    let next = cursor;
    for (let scans = 0; scans < MAX_SCANS_PER_PAGE; scans += 1) {
      const [after, found] = await this.redis.scan(next, { match: pattern, count });
      next = String(after);
      for (const key of found) keys.push(String(key));
      if (next === "0" || keys.length >= count) break;
    }
    return { cursor: next, keys };
  }
}
