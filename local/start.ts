import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { issueAccessToken } from "../core/auth/tokens";
import { createSqsClient } from "../core/queue/sqs";
import { embeddedModeFromEnv } from "./backing";
import { startLocalCloud } from "./cloud";
import { startCronRunner } from "./cron-runner";
import { migrateDatabase } from "./database";
import { startDevServer } from "./dev-server";
import { generateOkxAccount, startFakeOkx } from "./fake-okx";
import { generateBotToken, startFakeTelegramApi } from "./fake-telegram-api";
import { buildOpenApi } from "./openapi";
import { readEnvFile, writeEnvFile } from "./env-file";
import { startQueuePoller } from "./queue-poller";
import { loadSstManifest } from "./sst-manifest";

const ENV_FILE = resolve(".env.local");
const log = (line: string) => console.log(line);

/**
 * `npm start`: the local cloud, migrations, every declared route on http://127.0.0.1:3000, the
 * queue subscribers and the crons, until Ctrl-C.
 */
async function main(): Promise<void> {
  const started = performance.now();
  const manifest = await loadSstManifest(resolve("sst.config.ts"));
  const cloud = await startLocalCloud({ queues: manifest.queues, forceEmbedded: embeddedModeFromEnv(), log });
  const stops: (() => Promise<void> | void)[] = [() => cloud.stop()];
  const shutdown = async (code: number) => {
    for (const stop of stops.splice(0).reverse()) await Promise.resolve(stop()).catch(() => undefined);
    process.exit(code);
  };
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));

  try {
    const databaseName = process.env.BOTSTATE_DATABASE ?? "botstate_dev";
    const databaseUrl = await cloud.ensureDatabase(databaseName);
    const report = await migrateDatabase(cloud.env, databaseUrl);
    log(`[db] ${databaseName}: ${report.applied.length} migration(s) applied, ${report.alreadyApplied} already applied`);

    // Keep the dev secret across restarts so tokens printed earlier stay valid.
    const previous = readEnvFile(ENV_FILE);
    const jwtSecret = process.env.JWT_SECRET ?? previous.JWT_SECRET ?? randomBytes(32).toString("base64url");
    const telegram = await startFakeTelegramApi({ token: process.env.TELEGRAM_BOT_TOKEN ?? previous.TELEGRAM_BOT_TOKEN ?? generateBotToken() });
    stops.push(() => telegram.close());
    const telegramEnv = {
      TELEGRAM_API_ROOT: telegram.root,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_WEBHOOK_SECRET: process.env.TELEGRAM_WEBHOOK_SECRET ?? previous.TELEGRAM_WEBHOOK_SECRET ?? randomBytes(24).toString("base64url"),
    };
    // One dev OKX account, kept across restarts like the secrets: `/setapi` with these keys works.
    const devOkx = generateOkxAccount({
      ...(previous.OKX_DEV_API_KEY ? { apiKey: previous.OKX_DEV_API_KEY } : {}),
      ...(previous.OKX_DEV_SECRET_KEY ? { secretKey: previous.OKX_DEV_SECRET_KEY } : {}),
      ...(previous.OKX_DEV_PASSPHRASE ? { passphrase: previous.OKX_DEV_PASSPHRASE } : {}),
      ...(previous.OKX_DEV_UID ? { uid: previous.OKX_DEV_UID } : {}),
    });
    const okx = await startFakeOkx({ accounts: [devOkx] });
    stops.push(() => okx.close());
    const okxEnv = { OKX_BASE_URL: okx.url, OKX_DEV_API_KEY: devOkx.apiKey, OKX_DEV_SECRET_KEY: devOkx.secretKey, OKX_DEV_PASSPHRASE: devOkx.passphrase, OKX_DEV_UID: devOkx.uid };
    const port = Number(process.env.PORT ?? 3000);
    const functionEnv = Object.assign({}, ...manifest.routes.map((route) => route.function.environment)) as Record<string, string>;
    // EMF metric lines are for CloudWatch; set POWERTOOLS_METRICS_DISABLED=false to see them locally.
    process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
    Object.assign(process.env, { ...functionEnv, STAGE: "local" }, cloud.env, telegramEnv, { OKX_BASE_URL: okx.url }, {
      DATABASE_URL: databaseUrl,
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "INFO",
    });

    const server = await startDevServer({ routes: manifest.routes, port, log, openApi: () => buildOpenApi(manifest.routes) });
    stops.push(() => server.close());
    const sqs = createSqsClient({ region: cloud.env.AWS_REGION, endpoint: cloud.env.SQS_ENDPOINT });
    stops.push(() => sqs.destroy());
    for (const subscription of manifest.subscriptions) {
      const queueUrl = cloud.queueUrls[subscription.queue];
      if (!queueUrl) throw new Error(`subscription to undeclared queue ${subscription.queue}`);
      const poller = startQueuePoller({
        sqs,
        region: cloud.env.AWS_REGION,
        subscription,
        queueUrl,
        queueArn: `arn:aws:sqs:${cloud.env.AWS_REGION}:000000000000:${subscription.queue}`,
        log,
      });
      stops.push(() => poller.stop());
    }
    const crons = startCronRunner(manifest.crons, log);
    stops.push(() => crons.stop());

    const adminToken = await issueAccessToken(
      { secret: jwtSecret, issuer: process.env.JWT_ISSUER ?? "botstate" },
      { role: "admin", subject: "dev-admin", ttlSeconds: 12 * 3600 },
      new Date(),
    );
    writeEnvFile(
      ENV_FILE,
      // The dev admin token goes to the mode-600 env file, never to the terminal (logs get shared).
      { ...cloud.env, ...telegramEnv, ...okxEnv, DATABASE_URL: databaseUrl, API_URL: server.url, JWT_SECRET: jwtSecret, BOTSTATE_DEV_ADMIN_TOKEN: adminToken },
      "written by npm start: the endpoints of the running local cloud",
    );

    log("");
    log(`botstate local cloud ready in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    log(`  API            ${server.url}  (${manifest.routes.length} routes, e.g. ${server.url}/health)`);
    log(`  Upstash REST   ${cloud.env.UPSTASH_REDIS_REST_URL}  -> ${cloud.backing.redisSource} Redis`);
    log(`  Neon SQL       ${cloud.env.NEON_FETCH_ENDPOINT}  -> ${cloud.backing.postgresSource} Postgres, database ${databaseName}`);
    log(`  SQS            ${cloud.env.SQS_ENDPOINT}  (${Object.keys(cloud.queueUrls).join(", ") || "no queues"})`);
    log(`  Telegram API   ${telegram.root}  (fake Bot API; calls listed at ${telegram.root}/_recorded)`);
    log(`  OKX            ${okx.url}  (fake; dev account uid ${devOkx.uid}: /setapi ${devOkx.apiKey} ${devOkx.secretKey} ${devOkx.passphrase})`);
    log(`  Queue pollers  ${manifest.subscriptions.length}, crons ${manifest.crons.length}`);
    log(`  Env written to ${ENV_FILE}`);
    log(`  Dev admin token (12h) in ${ENV_FILE} as BOTSTATE_DEV_ADMIN_TOKEN`);
    log("Ctrl-C stops everything.");
  } catch (error) {
    console.error(error);
    await shutdown(1);
  }
}

await main();
