/**
 * One "container" for the mode-flip proof: a separate process with its own memo of runtime/ (as a
 * Lambda container has), reading the system mode as POST /v1/users does, as fast as requests would
 * come. It prints a JSON line when it starts and whenever it sees a new version, and its read and
 * database-query counts when stdin closes.
 */
import { provisioningQueries, systemMode } from "../../runtime/provisioning";

const READ_EVERY_MS = 10;
let reads = 0;
let version = -1;
let running = true;
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

process.stdin.on("end", () => {
  running = false;
});
process.stdin.resume();

while (running) {
  const snapshot = await systemMode().snapshot();
  reads += 1;
  if (snapshot.version !== version) {
    print({ event: version === -1 ? "ready" : "seen", version: snapshot.version, mode: snapshot.mode, at: Date.now(), pid: process.pid });
    version = snapshot.version;
  }
  await new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS));
}
print({ event: "done", reads, dbQueries: provisioningQueries.count, pid: process.pid });
