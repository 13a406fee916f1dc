/**
 * `npm run proof`: the provisioning guarantees, end to end on the local cloud (the real clients,
 * the dev server, the SQS emulator with its DLQ, the consumer as Lambda's event source runs it,
 * the fake Bot API). Prints each check; exit code 0 when all hold, 1 otherwise.
 *
 *   PROOF_USERS=1000 (default)   creations in the exactly-once phase
 */
import type { Check } from "./proof/checks";
import { proveExactlyOnce } from "./proof/exactly-once";
import { proveModeFlip } from "./proof/mode-flip";
import { proveQueueDown } from "./proof/queue-down";
import { startProofWorld } from "./proof/setup";

const log = (line: string) => console.log(line);

async function phase(title: string, work: () => Promise<Check[]>): Promise<Check[]> {
  log(`\n${title}`);
  const started = performance.now();
  const checks = await work();
  for (const { name, ok, detail } of checks) log(`  ${ok ? "PASS" : "FAIL"}  ${name}: ${detail}`);
  log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return checks;
}

async function main(): Promise<number> {
  const users = Number(process.env.PROOF_USERS ?? 1_000);
  const world = await startProofWorld((line) => console.error(line));
  try {
    const checks = [
      ...(await phase(`1. ${users} creations, each delivered 3-10 times, through HTTP and the queue with redeliveries`, () => proveExactlyOnce(world, users, log))),
      ...(await phase("2. A mode flip seen by several running containers", () => proveModeFlip(world, log))),
      ...(await phase("3. SQS unreachable in async_queue", () => proveQueueDown(world))),
    ];
    const failed = checks.filter((entry) => !entry.ok);
    log(`\n${failed.length === 0 ? "PROOF HOLDS" : "PROOF FAILS"}: ${checks.length - failed.length}/${checks.length} checks passed`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    await world.close();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(error);
  return 1;
});
