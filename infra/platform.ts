/**
 * What every capability shares: the secrets, the HTTP API and the shape of a function. Each
 * capability's file (infra/<capability>.ts) declares its routes, queues and crons with these and
 * links only the secrets its functions read (runtime/config.ts maps links to config names).
 */
export function platformInfra() {
  const secrets = {
    jwt: new sst.Secret("JwtSecret"),
    encryptionKey: new sst.Secret("EncryptionKey"),
    upstashUrl: new sst.Secret("UpstashRedisRestUrl"),
    upstashToken: new sst.Secret("UpstashRedisRestToken"),
    database: new sst.Secret("DatabaseUrl"),
    telegramBotToken: new sst.Secret("TelegramBotToken"),
    telegramWebhookSecret: new sst.Secret("TelegramWebhookSecret"),
    /** Where admin alerts go (provisioning's CRITICAL and SWITCH events). */
    telegramAdminChatId: new sst.Secret("TelegramAdminChatId"),
  };
  const api = new sst.aws.ApiGatewayV2("Api");
  return { secrets, api, redis: [secrets.upstashUrl, secrets.upstashToken], postgres: [secrets.database] };
}

export type Platform = ReturnType<typeof platformInfra>;

export interface LambdaOptions {
  readonly link?: readonly unknown[];
  readonly memory?: `${number} MB`;
  readonly timeout?: `${number} seconds` | `${number} minutes`;
  readonly environment?: Readonly<Record<string, string>>;
  /** Bundling options on top of the platform's (below), e.g. `splitting` for a function that imports parts lazily. */
  readonly nodejs?: { readonly splitting?: boolean };
}

/**
 * One Lambda function: Node 22 on arm64, minified ESM, AWS SDK bundled (SST never marks it
 * external). Every bundling option is set here on purpose: SST 4's builder treats a missing
 * `minify` as false, and its runtime default is now nodejs24.x. No source maps at run time
 * (`sourcemap: false`, no `--enable-source-maps`): Node reading a shipped map cost 30–50 ms of CPU
 * per cold start on Node 22, about a third of the import, mostly parsing the sources of the
 * libraries it embeds. SST's builder keeps names, so a logged stack trace still names its
 * functions. `plugins` names infra/bundling/plugins.mjs, which keeps Node built-ins no cold start
 * uses (the ESM facade of `process`, middy's web streams) from loading at import. `npm run size`
 * and the bench bundle each handler with these options and plugins, and check its budget.
 */
export function lambda(handler: string, options: LambdaOptions = {}) {
  return {
    handler,
    runtime: "nodejs22.x" as const,
    architecture: "arm64" as const,
    memory: options.memory ?? "512 MB",
    timeout: options.timeout ?? "10 seconds",
    link: [...(options.link ?? [])],
    environment: { SERVICE_NAME: "botstate", STAGE: $app.stage, LOG_LEVEL: "INFO", ...options.environment },
    nodejs: { format: "esm" as const, minify: true, sourcemap: false, plugins: "infra/bundling/plugins.mjs", ...options.nodejs },
  };
}
