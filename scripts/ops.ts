/**
 * `npm run ops -- <command>`: operator commands (import mappings, migrate, issue a token).
 * `npm run ops -- help` lists them; the work is in scripts/ops-cli.ts.
 */
import { runOps } from "./ops-cli";

process.exitCode = await runOps(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
