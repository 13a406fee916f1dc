/// <reference path="./.sst/platform/config.d.ts" />

/**
 * What botstate deploys, one infra/<capability>.ts per capability. This file is also the single
 * source of routes, queues and schedules for the local cloud: `npm start` and the tests evaluate
 * it with stand-ins for the SST globals (local/sst-manifest.ts).
 */
export default $config({
  app(input) {
    return {
      name: "botstate",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    const { platformInfra } = await import("./infra/platform");
    const { healthInfra } = await import("./infra/health");
    const { lookupsInfra } = await import("./infra/lookups");
    const { provisioningInfra } = await import("./infra/provisioning");
    const { telegramInfra } = await import("./infra/telegram");
    const { outboxInfra } = await import("./infra/outbox");
    const { positionsInfra } = await import("./infra/positions");
    const { syncInfra } = await import("./infra/sync");
    const { credentialsInfra } = await import("./infra/credentials");
    const { reconciliationInfra } = await import("./infra/reconciliation");
    const { settingsInfra } = await import("./infra/settings");

    const platform = platformInfra();
    const provisioning = provisioningInfra(platform);
    healthInfra(platform, provisioning.queue);
    lookupsInfra(platform);
    telegramInfra(platform);
    outboxInfra(platform);
    positionsInfra(platform);
    syncInfra(platform);
    credentialsInfra(platform);
    reconciliationInfra(platform);
    settingsInfra(platform);

    return { api: platform.api.url };
  },
});
