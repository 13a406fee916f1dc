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
    const environment = { SERVICE_NAME: "botstate", STAGE: $app.stage, LOG_LEVEL: "INFO" };
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

    return { api: api.url };
  },
});
