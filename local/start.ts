/**
 * `npm start` (`node --import tsx local/start.ts`): the local cloud and every declared route on
 * http://127.0.0.1:3000 until Ctrl-C. Ctrl-C at any moment after this module runs, start-up
 * included, stops what has been started, removes what was created and exits 0.
 *
 * The signal handlers are installed before anything else is imported (that takes a second or
 * more), and `npm start` runs node itself (no tsx CLI, whose signal relay SIGKILLs a child that
 * is busy for 60 ms, nor a shell, which dies of the SIGINT and makes npm report it).
 *
 * Ctrl-C reaches the whole process group: tsx's esbuild service ignores it (ESBUILD_BINARY_PATH,
 * local/esbuild-service.sh), else the TypeScript still loading could not compile. A Ctrl-C while
 * the modules load, before anything was started, exits at once: there is nothing to stop. And this
 * process always ends by process.exit(), never by its event loop draining: a SIGINT arriving in
 * that teardown (npm passes on the one it got, a moment after the terminal's) finds the default
 * action back and kills node, and npm then dies of the same signal.
 */
import { reportStartFailure } from "./setup-error";

const shutdown = new AbortController();
let exitCode = 0;
/** Set once the dev stack runs: from then on a shutdown has things to stop and remove. */
let stackRunning = false;

const stopOn = (signal: NodeJS.Signals): void => {
  if (shutdown.signal.aborted) return;
  console.log(`${signal}: stopping everything npm start started...`);
  if (!stackRunning) process.exit(0); // nothing started, nothing created: the modules need not finish loading
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

console.log("botstate: starting the local cloud (Ctrl-C stops it at any moment)");
let stackExitCode = 1;
try {
  const { runDevStack } = await import("./dev-stack");
  stackRunning = true;
  stackExitCode = await runDevStack(shutdown.signal);
} catch (error) {
  failInBackground(error);
}
process.exit(exitCode || stackExitCode);
