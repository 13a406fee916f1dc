import { provisioningStore } from "../runtime/provisioning";
import { platform } from "../runtime/platform";

const BATCH = 5_000;
const MAX_BATCHES = 20;

/** Scheduled: deletes Idempotency-Keys past their expiry (kept at least 24 h), in bounded batches. */
export const handler = async (): Promise<{ readonly purged: number }> => {
  const { clock, logger } = platform();
  let purged = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
    const deleted = await provisioningStore().purgeExpiredKeys(clock.now(), BATCH);
    purged += deleted;
    if (deleted < BATCH) break;
  }
  if (purged > 0) logger.info("expired idempotency keys purged", { purged });
  return { purged };
};
