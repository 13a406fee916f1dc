/**
 * `npm start` (`node --import tsx local/start.ts`): the local cloud and every declared route on
 * http://127.0.0.1:3000 until Ctrl-C. Ctrl-C at any moment after this module runs, start-up
 * included, stops what has been started, removes what was created and exits 0.
 *
 * The signal handlers are installed before anything else is imported (that takes a second or
 * more), and `npm start` runs node itself (no tsx CLI, whose signal relay SIGKILLs a child that
 * is busy for 60 ms, nor a shell, which dies of the SIGINT and makes npm report it).
 */
import { reportStartFailure } from "./setup-error";

const shutdown = new AbortController();
let exitCode = 0;

const stopOn = (signal: NodeJS.Signals): void => {
  if (shutdown.signal.aborted) return;
  console.log(`${signal}: stopping everything npm start started...`);
  shutdown.abort(new Error(signal));
};
process.on("SIGINT", stopOn);
process.on("SIGTERM", stopOn);

// Whatever fails in the background, the servers and data folders must not outlive the process.
const failInBackground = (error: unknown): void => {
  if (shutdown.signal.aborted) return; // a dependency going away during the shutdown
  reportStartFailure(error);
  exitCode = 1;
  shutdown.abort(error);
};
process.on("uncaughtException", failInBackground);
process.on("unhandledRejection", failInBackground);

<<<<<<< HEAD
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
=======
console.log("botstate: starting the local cloud (Ctrl-C stops it at any moment)");
const { runDevStack } = await import("./dev-stack");
const stackExitCode = await runDevStack(shutdown.signal);
process.exit(exitCode || stackExitCode);
>>>>>>> trust-local
