import { provisioningConfigSchema, systemModeConfigSchema } from "../core/config";
import { PostgresProvisioningStore } from "../core/provisioning/adapters/postgres-provisioning-store";
import { PostgresSystemModeStore } from "../core/provisioning/adapters/postgres-system-mode-store";
import { UpstashSystemModeCopy } from "../core/provisioning/adapters/upstash-system-mode-copy";
import type { CreateUserDeps } from "../core/provisioning/create-user";
import type { ProvisionDeps } from "../core/provisioning/provision-from-queue";
import { defaultSettingsStatements } from "../core/settings/adapters/postgres-settings-store";
import { SystemModeReader } from "../core/provisioning/system-mode";
import type { SwitchModeDeps } from "../core/provisioning/system-mode";
import { database } from "./clients/postgres";
import { redisClient, redisKeys } from "./clients/redis";
import { configFor, once } from "./config";
import { recordHealth } from "./health-events";
import { lookupInvalidations, lookupOutbox } from "./lookups";
import { platform } from "./platform";

/** Round trips to Postgres made by provisioning and the mode reader in this container (bench figures). */
export const provisioningQueries = { count: 0 };
const countQuery = () => {
  provisioningQueries.count += 1;
};

/** Users, keys and provisioning records in Postgres; default settings join the creation transaction. */
export function provisioningStore(): PostgresProvisioningStore {
  return once(provisioningStore, () => new PostgresProvisioningStore(database(), defaultSettingsStatements, (messages) => lookupOutbox().store.enqueue(messages), countQuery));
}

/** What createUser needs: the store, the lookup cache it invalidates, time and ids. */
export function createUserDeps(): CreateUserDeps {
  return once(createUserDeps, () => {
    const { clock, ids } = platform();
    return { store: provisioningStore(), invalidations: lookupInvalidations(), clock, ids };
  });
}

/** The SQS consumer's dependencies (no SQS client: Lambda hands it the records). */
export function provisioningWorker(): ProvisionDeps {
  return once(provisioningWorker, () => ({
    ...createUserDeps(),
    health: recordHealth(),
    log: platform().logger,
    maxReceiveCount: configFor(provisioningConfigSchema).PROVISIONING_MAX_RECEIVE_COUNT,
  }));
}

export function systemModeStore(): PostgresSystemModeStore {
  return once(systemModeStore, () => new PostgresSystemModeStore(database(), countQuery));
}

function systemModeCopy(): UpstashSystemModeCopy {
  return once(systemModeCopy, () => new UpstashSystemModeCopy(redisClient(), redisKeys()));
}

/** This container's view of the system mode (checked against Redis at most once per interval). */
export function systemMode(): SystemModeReader {
  return once(systemMode, () => {
    const config = configFor(systemModeConfigSchema);
    return new SystemModeReader({
      store: systemModeStore(),
      copy: systemModeCopy(),
      log: platform().logger,
      monotonicNow: () => performance.now(),
      options: { checkIntervalMs: config.SYSTEM_MODE_CHECK_INTERVAL_MS, copyTtlSeconds: config.SYSTEM_MODE_REDIS_TTL_SECONDS },
    });
  });
}

export function switchModeDeps(): SwitchModeDeps {
  return once(switchModeDeps, () => {
    const { clock, logger } = platform();
    return {
      store: systemModeStore(),
      copy: systemModeCopy(),
      reader: systemMode(),
      health: recordHealth(),
      clock,
      log: logger,
      copyTtlSeconds: configFor(systemModeConfigSchema).SYSTEM_MODE_REDIS_TTL_SECONDS,
    };
  });
}
