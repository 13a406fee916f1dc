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

console.log("botstate: starting the local cloud (Ctrl-C stops it at any moment)");
const { runDevStack } = await import("./dev-stack");
const stackExitCode = await runDevStack(shutdown.signal);
process.exit(exitCode || stackExitCode);
