import { cacheConfigSchema, redisConfigSchema } from "../core/config";
import { PostgresReconciliationLog } from "../core/reconciliation/adapters/postgres-reconciliation-log";
import { UpstashOpenPositionCount } from "../core/reconciliation/adapters/upstash-open-position-count";
import type { ReconciliationSummaryDeps } from "../core/reconciliation/get-summary";
import type { ReconciliationHistoryWire } from "../core/reconciliation/presenters";
import type { RecordReconciliationDeps } from "../core/reconciliation/record-event";
import { PositionKeys } from "../core/redis/keys";
import { redisClient } from "./clients/redis";
import { database } from "./clients/postgres";
import { configFor, once } from "./config";
import { userDirectory } from "./identity";
import { cachedUserDirectory } from "./user-refs";
import { outbox } from "./outbox";
import { platform } from "./platform";
import { viewCache, viewWriteHandlers } from "./views";

function reconciliationLog(): PostgresReconciliationLog {
  return once(reconciliationLog, () => {
    const store = outbox().store;
    return new PostgresReconciliationLog(database(), (messages) => store.enqueue(messages));
  });
}

export function recordReconciliationDeps(): RecordReconciliationDeps {
  return once(recordReconciliationDeps, () => {
    const { clock, ids } = platform();
    return { directory: userDirectory(), log: reconciliationLog(), outbox: outbox(), outboxHandlers: viewWriteHandlers(), clock, ids };
  });
}

export function reconciliationSummaryDeps(): ReconciliationSummaryDeps {
  return once(reconciliationSummaryDeps, () => ({
    directory: cachedUserDirectory(),
    log: reconciliationLog(),
    // Open positions live only in Redis: wait longer for it than the cache does (it has the database).
    openPositions: new UpstashOpenPositionCount(redisClient(), new PositionKeys(configFor(redisConfigSchema).REDIS_KEY_PREFIX), configFor(cacheConfigSchema).CACHE_STORE_TIMEOUT_MS * 5),
    cache: viewCache<ReconciliationHistoryWire>("reconciliation"),
  }));
}
