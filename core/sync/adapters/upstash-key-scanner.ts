import type { Redis } from "@upstash/redis";
import type { KeyPage, KeyScanner } from "../ports";

const GLOB = /[*?[\]\\]/;
/** SCAN calls one page may make while gathering keys. */
const MAX_SCANS_PER_PAGE = 20;
/** Keys each SCAN call examines, at least: a sparse pattern in a large key space needs fewer round trips. */
const MIN_SCAN_COUNT = 2_000;

/**
 * SCAN with MATCH and COUNT through @upstash/redis (never KEYS); an exact key is one EXISTS. A
 * page gathers matches over several SCAN calls until it holds `count` keys or more (a call may
 * bring more than asked), so a sparse pattern in a large key space still yields full pages (one
 * plan query and one write per page).
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
      const [after, found] = await this.redis.scan(next, { match: pattern, count: Math.max(count, MIN_SCAN_COUNT) });
      next = String(after);
      for (const key of found) keys.push(String(key));
      if (next === "0" || keys.length >= count) break;
    }
    return { cursor: next, keys };
  }
}
