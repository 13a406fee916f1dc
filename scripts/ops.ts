/**
 * `npm run ops -- <command>`: operator commands, one module each in scripts/ops/.
 * `npm run ops -- help` lists them.
 */
import { runOps } from "./ops/cli";

const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
process.exitCode = await runOps(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
