import type { IdGenerator } from "../clock";
import type { OutboxHandlers, OutboxMessage } from "../outbox/model";
import type { TagInvalidator } from "./tag-invalidator";

/** Outbox topic of tag bumps owed by a committed write. */
export const CACHE_BUMP_TOPIC = "cache.bump-tags";

/**
 * The outbox row a writer enqueues in its transaction: once committed, its tags are bumped (by the
 * writer right after the commit, or by a drain if Redis was down then).
 */
export function cacheBumpMessage(ids: IdGenerator, tags: readonly string[]): OutboxMessage {
  return { id: ids.uuid(), topic: CACHE_BUMP_TOPIC, key: [...tags].sort().join(","), payload: { tags: [...tags] } };
}

/** The tags a stored bump names; none when malformed (nothing to invalidate). */
export function tagsIn(message: Pick<OutboxMessage, "payload">): string[] {
  const tags = message.payload.tags;
  return Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === "string") : [];
}

/** The tags a bump to deliver names; throws for a malformed one. */
function tagsOf(message: OutboxMessage): string[] {
  const tags = tagsIn(message);
  if (!Array.isArray(message.payload.tags) || tags.length !== message.payload.tags.length) throw new Error("cache bump without a tag list");
  return tags;
}

/**
 * Delivers bumps; idempotent enough (a second bump only invalidates once more). `onUndelivered`
 * hears the tags of a bump Redis refused (its row stays for the drain).
 */
export function cacheOutboxHandlers(invalidator: TagInvalidator, onUndelivered?: (tags: readonly string[]) => void): OutboxHandlers {
  return {
    [CACHE_BUMP_TOPIC]: async (message) => {
      const tags = tagsOf(message);
      try {
        await invalidator.bump(tags);
      } catch (error) {
        onUndelivered?.(tags);
        throw error;
      }
    },
  };
}
