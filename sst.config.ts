/// <reference path="./.sst/platform/config.d.ts" />

/**
 * What botstate deploys. This file is also the single source of routes, queues and schedules for
 * the local cloud: `npm start` evaluates it with stand-ins for the SST globals (local/sst-manifest.ts).
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
    const secrets = [
      new sst.Secret("JwtSecret"),
      new sst.Secret("EncryptionKey"),
      new sst.Secret("UpstashRedisRestUrl"),
      new sst.Secret("UpstashRedisRestToken"),
      new sst.Secret("DatabaseUrl"),
    ];

    // User provisioning: retried by SQS, parked in the DLQ after 5 failed receives.
    const provisioningDlq = new sst.aws.Queue("ProvisioningDlq", {
      transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600 } },
    });
    const provisioningQueue = new sst.aws.Queue("ProvisioningQueue", {
      visibilityTimeout: "60 seconds",
      dlq: { queue: provisioningDlq.arn, retry: 5 },
    });

    const link = [...secrets, provisioningQueue];
    const legacyLookupUrl = process.env.LEGACY_LOOKUP_URL;
    const environment = {
      SERVICE_NAME: "botstate",
      STAGE: $app.stage,
      LOG_LEVEL: "INFO",
      ...(legacyLookupUrl ? { LEGACY_LOOKUP_URL: legacyLookupUrl } : {}),
    };
    const fn = (handler: string, overrides: { memory?: `${number} MB`; timeout?: `${number} seconds` } = {}) => ({
      handler,
      runtime: "nodejs22.x" as const,
      architecture: "arm64" as const,
      memory: overrides.memory ?? "512 MB",
      timeout: overrides.timeout ?? "10 seconds",
      link,
      environment,
    });

    const api = new sst.aws.ApiGatewayV2("Api");
    api.route("GET /health", fn("functions/health.handler", { memory: "256 MB", timeout: "5 seconds" }));

    // Identifier lookups (system A): service/admin tokens; a user token only for itself.
    api.route("GET /v1/lookups/{identifier}", fn("functions/lookup-get.handler"));
    api.route("POST /v1/lookups/batch", fn("functions/lookup-batch.handler", { timeout: "15 seconds" }));
    api.route("PUT /v1/admin/mappings/{userId}", fn("functions/admin-mapping-put.handler"));
    api.route("GET /v1/admin/mappings/{userId}", fn("functions/admin-mapping-get.handler"));
    api.route("DELETE /v1/admin/mappings/{userId}", fn("functions/admin-mapping-delete.handler"));
    api.route("GET /v1/admin/mappings", fn("functions/admin-mappings-search.handler"));
    api.route("GET /v1/admin/stats", fn("functions/admin-stats.handler", { memory: "256 MB" }));

    return { api: api.url };
  },
});
