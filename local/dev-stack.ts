import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { issueAccessToken } from "../core/auth/tokens";
import { createSqsClient } from "../core/queue/sqs";
import { embeddedModeFromEnv } from "./backing";
import { startLocalCloud } from "./cloud";
import type { LocalCloud } from "./cloud";
import { startCronRunner } from "./cron-runner";
import { migrateDatabase } from "./database";
import { startDevServer } from "./dev-server";
import type { DevServer } from "./dev-server";
import { readEnvFile, writeEnvFile } from "./env-file";
import { generateOkxAccount, startFakeOkx } from "./fake-okx";
import type { FakeOkxAccount } from "./fake-okx";
import { generateBotToken, startFakeTelegramApi } from "./fake-telegram-api";
import { buildOpenApi } from "./openapi";
import { startQueuePoller } from "./queue-poller";
import { LocalSetupError, reportStartFailure } from "./setup-error";
import { loadSstManifest } from "./sst-manifest";
import type { SstManifest } from "./sst-manifest";

/** BOTSTATE_ENV_FILE lets the tests of `npm start` leave the developer's .env.local alone. */
const ENV_FILE = resolve(process.env.BOTSTATE_ENV_FILE ?? ".env.local");
const log = (line: string) => console.log(line);

type Stop = () => Promise<void> | void;

interface Running {
  readonly manifest: SstManifest;
  readonly cloud: LocalCloud;
  readonly server: DevServer;
  readonly databaseName: string;
  readonly fakes: Fakes;
}

/** The fake third-party APIs the functions talk to locally. */
interface Fakes {
  readonly telegramRoot: string;
  readonly okxUrl: string;
  readonly devOkx: FakeOkxAccount;
  /** What goes into the functions' environment and .env.local. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Starts the local cloud, migrations, every declared route, the queue subscribers and the crons,
 * then waits for `shutdown` (Ctrl-C, or a failure in the background) and stops what it started,
 * in reverse order; also when the shutdown comes in the middle of the start-up. Returns the exit
 * code: 0 after a shutdown, 1 when the start-up failed.
 */
export async function runDevStack(shutdown: AbortSignal): Promise<number> {
  const started = performance.now();
  const stops: Stop[] = [];
  let exitCode = 0;
  try {
    const running = await startEverything(shutdown, stops);
    printReady(running, started);
    await new Promise<void>((resolveAbort) => shutdown.addEventListener("abort", () => resolveAbort(), { once: true }));
  } catch (error) {
    if (!shutdown.aborted) {
      reportStartFailure(error);
      exitCode = 1;
    }
  }
  for (const stop of stops.splice(0).reverse()) await Promise.resolve(stop()).catch(() => undefined);
  return exitCode;
}

async function startEverything(signal: AbortSignal, stops: Stop[]): Promise<Running> {
  signal.throwIfAborted();
  const manifest = await loadSstManifest(resolve("sst.config.ts"));
  signal.throwIfAborted();
  const cloud = await startLocalCloud({ queues: manifest.queues, forceEmbedded: embeddedModeFromEnv(), log, signal });
  stops.push(() => cloud.stop());

  const databaseName = process.env.BOTSTATE_DATABASE ?? "botstate_dev";
  const databaseUrl = await cloud.ensureDatabase(databaseName);
  signal.throwIfAborted();
  const report = await migrateDatabase(cloud.env, databaseUrl);
  log(`[db] ${databaseName}: ${report.applied.length} migration(s) applied, ${report.alreadyApplied} already applied`);
  signal.throwIfAborted();

  // Keep the dev secret across restarts so tokens printed earlier stay valid.
  const previous = readEnvFile(ENV_FILE);
  const jwtSecret = process.env.JWT_SECRET ?? previous.JWT_SECRET ?? randomBytes(32).toString("base64url");
  // Same for the credentials key: rows sealed in an earlier session must still open.
  const encryptionKey = process.env.ENCRYPTION_KEY ?? previous.ENCRYPTION_KEY ?? randomBytes(32).toString("base64");
  const fakes = await startFakes(previous, stops);
  signal.throwIfAborted();
  const functionEnv = Object.assign({}, ...manifest.routes.map((route) => route.function.environment)) as Record<string, string>;
  // EMF metric lines are for CloudWatch; set POWERTOOLS_METRICS_DISABLED=false to see them locally.
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  Object.assign(process.env, { ...functionEnv, STAGE: "local" }, cloud.env, fakes.env, {
    DATABASE_URL: databaseUrl,
    JWT_SECRET: jwtSecret,
    ENCRYPTION_KEY: encryptionKey,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "INFO",
  });

  const server = await startApi(manifest);
  stops.push(() => server.close());
  startConsumers(manifest, cloud, stops);

  const adminToken = await issueAccessToken(
    { secret: jwtSecret, issuer: process.env.JWT_ISSUER ?? "botstate" },
    { role: "admin", subject: "dev-admin", ttlSeconds: 12 * 3600 },
    new Date(),
  );
  writeEnvFile(
    ENV_FILE,
    // The dev admin token goes to the mode-600 env file, never to the terminal (logs get shared).
    { ...cloud.env, ...fakes.env, DATABASE_URL: databaseUrl, API_URL: server.url, JWT_SECRET: jwtSecret, ENCRYPTION_KEY: encryptionKey, BOTSTATE_DEV_ADMIN_TOKEN: adminToken },
    "written by npm start: the endpoints of the running local cloud",
  );
  signal.throwIfAborted();
  return { manifest, cloud, server, databaseName, fakes };
}

/** The fake Bot API and OKX, with a bot token, webhook secret and dev OKX account kept across restarts. */
async function startFakes(previous: Readonly<Record<string, string>>, stops: Stop[]): Promise<Fakes> {
  const telegram = await startFakeTelegramApi({ token: process.env.TELEGRAM_BOT_TOKEN ?? previous.TELEGRAM_BOT_TOKEN ?? generateBotToken() });
  stops.push(() => telegram.close());
  // One dev OKX account, kept across restarts like the secrets: `/setapi` with these keys works.
  const devOkx = generateOkxAccount({
    ...(previous.OKX_DEV_API_KEY ? { apiKey: previous.OKX_DEV_API_KEY } : {}),
    ...(previous.OKX_DEV_SECRET_KEY ? { secretKey: previous.OKX_DEV_SECRET_KEY } : {}),
    ...(previous.OKX_DEV_PASSPHRASE ? { passphrase: previous.OKX_DEV_PASSPHRASE } : {}),
    ...(previous.OKX_DEV_UID ? { uid: previous.OKX_DEV_UID } : {}),
  });
  const okx = await startFakeOkx({ accounts: [devOkx] });
  stops.push(() => okx.close());
  return {
    telegramRoot: telegram.root,
    okxUrl: okx.url,
    devOkx,
    env: {
      TELEGRAM_API_ROOT: telegram.root,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_WEBHOOK_SECRET: process.env.TELEGRAM_WEBHOOK_SECRET ?? previous.TELEGRAM_WEBHOOK_SECRET ?? randomBytes(24).toString("base64url"),
      // Admin alerts (CRITICAL / SWITCH health events) go to this chat of the fake Bot API.
      TELEGRAM_ADMIN_CHAT_ID: process.env.TELEGRAM_ADMIN_CHAT_ID ?? previous.TELEGRAM_ADMIN_CHAT_ID ?? "-1001000000001",
      OKX_BASE_URL: okx.url,
      OKX_DEV_API_KEY: devOkx.apiKey,
      OKX_DEV_SECRET_KEY: devOkx.secretKey,
      OKX_DEV_PASSPHRASE: devOkx.passphrase,
      OKX_DEV_UID: devOkx.uid,
    },
  };
}

async function startApi(manifest: SstManifest): Promise<DevServer> {
  const port = Number(process.env.PORT ?? 3000);
  try {
    return await startDevServer({ routes: manifest.routes, port, log, openApi: () => buildOpenApi(manifest.routes) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new LocalSetupError(`port ${port} is in use: stop what listens there, or pick another with PORT=<port> npm start`);
    }
    throw error;
  }
}

function startConsumers(manifest: SstManifest, cloud: LocalCloud, stops: Stop[]): void {
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
}

function printReady({ manifest, cloud, server, databaseName, fakes }: Running, started: number): void {
  log("");
  log(`botstate local cloud ready in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  log(`  API            ${server.url}  (${manifest.routes.length} routes, e.g. ${server.url}/health)`);
  log(`  Upstash REST   ${cloud.env.UPSTASH_REDIS_REST_URL}  -> ${cloud.backing.redisSource} Redis`);
  log(`  Neon SQL       ${cloud.env.NEON_FETCH_ENDPOINT}  -> ${cloud.backing.postgresSource} Postgres, database ${databaseName}`);
  log(`  SQS            ${cloud.env.SQS_ENDPOINT}  (${Object.keys(cloud.queueUrls).join(", ") || "no queues"})`);
  log(`  Telegram API   ${fakes.telegramRoot}  (fake Bot API; calls listed at ${fakes.telegramRoot}/_recorded)`);
  const { devOkx } = fakes;
  log(`  OKX            ${fakes.okxUrl}  (fake; dev account uid ${devOkx.uid}: /setapi ${devOkx.apiKey} ${devOkx.secretKey} ${devOkx.passphrase})`);
  log(`  Queue pollers  ${manifest.subscriptions.length}, crons ${manifest.crons.length}`);
  log(`  Env written to ${ENV_FILE}`);
  log(`  Dev admin token (12h) in ${ENV_FILE} as BOTSTATE_DEV_ADMIN_TOKEN`);
  log("Ctrl-C stops everything.");
}

