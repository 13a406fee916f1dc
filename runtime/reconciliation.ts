import { guardConfigSchema, redisConfigSchema } from "../core/config";
import { CachedUserDirectory } from "../core/identity/adapters/cached-user-directory";
import type { UserDirectory } from "../core/identity/user-ref";
import { PostgresReconciliationLog } from "../core/reconciliation/adapters/postgres-reconciliation-log";
import { UpstashOpenPositionCount } from "../core/reconciliation/adapters/upstash-open-position-count";
import type { ReconciliationSummaryDeps } from "../core/reconciliation/get-summary";
import type { ReconciliationHistoryWire } from "../core/reconciliation/presenters";
import type { RecordReconciliationDeps } from "../core/reconciliation/record-event";
import { PositionKeys } from "../core/redis/keys";
import { cacheOutbox, readThroughCache } from "./cache";
import { redisClient } from "./clients/redis";
import { database } from "./clients/postgres";
import { configFor, once } from "./config";
import { userDirectory } from "./identity";
import { outbox } from "./outbox";
import { platform } from "./platform";

/** Round trips to Postgres made by the reconciliation and guard views in this container (bench figures). */
export const viewQueries = { count: 0 };
export const countViewQuery = () => {
  viewQueries.count += 1;
};

/** `{ref}` resolution for the view routes, cached (a hit costs no query; see CachedUserDirectory). */
export function cachedUserDirectory(): UserDirectory {
  return once(cachedUserDirectory, () => {
    const ttlMs = configFor(guardConfigSchema).USER_REF_CACHE_TTL_SECONDS * 1_000;
    const counted: UserDirectory = {
      activeUserId: (id) => (countViewQuery(), userDirectory().activeUserId(id)),
      userIdByOkxUid: (uid) => (countViewQuery(), userDirectory().userIdByOkxUid(uid)),
    };
    return new CachedUserDirectory(counted, readThroughCache<string>("user-refs", { ttlMs, negativeTtlMs: 5_000 }));
  });
}

function reconciliationLog(): PostgresReconciliationLog {
  return once(reconciliationLog, () => {
    const store = outbox().store;
    return new PostgresReconciliationLog(database(), (messages) => store.enqueue(messages), countViewQuery);
  });
}

export function recordReconciliationDeps(): RecordReconciliationDeps {
  return once(recordReconciliationDeps, () => {
    const { clock, ids } = platform();
    return { directory: userDirectory(), log: reconciliationLog(), outbox: outbox(), outboxHandlers: cacheOutbox(), clock, ids };
  });
}

export function reconciliationSummaryDeps(): ReconciliationSummaryDeps {
  return once(reconciliationSummaryDeps, () => ({
    directory: cachedUserDirectory(),
    log: reconciliationLog(),
    openPositions: new UpstashOpenPositionCount(redisClient(), new PositionKeys(configFor(redisConfigSchema).REDIS_KEY_PREFIX)),
    cache: readThroughCache<ReconciliationHistoryWire>("reconciliation", { ttlMs: configFor(guardConfigSchema).VIEWS_CACHE_TTL_MS }),
  }));
}
