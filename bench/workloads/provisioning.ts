import { randomInt, randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../../core/queue/sqs";
import { requestHash } from "../../core/provisioning/idempotency";
import type { NewUserRequest, SystemMode } from "../../core/provisioning/model";
import { submitUserCreation } from "../../core/provisioning/submit-user";
import { switchSystemMode } from "../../core/provisioning/system-mode";
import { provisioningQueries, switchModeDeps, systemMode } from "../../runtime/provisioning";
import { submitUserDeps } from "../../runtime/provisioning-queue";
import { measureSequential, summarize } from "../stats";
import type { Workload } from "../workload";

/**
 * User provisioning: the synchronous creation against a bare transaction of the same inserts, the
 * queued 202 path against a route plus one SQS send, and the system-mode read (no database).
 */

const person = (): NewUserRequest => ({
  email: `bench-${randomUUID()}@example.com`,
  telegramId: String(8_000_000_000 + randomInt(1, 2 ** 40)),
  okxUid: `9${String(randomInt(10 ** 11, 10 ** 12 - 1))}${String(randomInt(10_000, 99_999))}`,
  plan: "pro",
  displayName: null,
});

async function useMode(mode: SystemMode): Promise<void> {
  await switchSystemMode(switchModeDeps(), { mode, reason: "bench", actor: "bench" });
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

export const provisioningWorkloads: readonly Workload[] = [
  {
    name: "create-user-bare-tx",
    description: "bare Neon transaction of the inserts createUser makes: idempotency record, app user, identifier mapping",
    run: async ({ sql, scale }) =>
      measureSequential(async () => {
        const request = person();
        const id = randomUUID();
        await sql.transaction([
          sql.query(
            `INSERT INTO idempotency_records (operation, key, payload_hash, state, outcome, response_body, completed_at, expires_at)
             VALUES ('bench', $1, $2, 'completed', 'created', '{}'::json, now(), now() + interval '1 day')`,
            [randomUUID(), requestHash(request)],
          ),
          sql.query(`INSERT INTO app_users (id, telegram_id, okx_uid, email, plan, is_active) VALUES ($1, $2, $3, $4, $5, true)`, [
            id,
            request.telegramId,
            request.okxUid,
            request.email,
            request.plan,
          ]),
          sql.query(`INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source) VALUES ($1, $2, $3, true, 'registration')`, [
            id,
            request.telegramId,
            request.okxUid,
          ]),
        ]);
      }, Math.round(500 * scale)),
  },
  {
    name: "create-user-sync",
    description: "submitUserCreation in sync_direct, in process: one bounded transaction, then the lookup-cache invalidation",
    floor: ["create-user-bare-tx"],
    targetRatio: 1.25,
    setup: () => useMode("sync_direct"),
    run: async ({ scale }) => {
      const deps = submitUserDeps();
      const before = provisioningQueries.count;
      const iterations = Math.round(500 * scale);
      const summary = await measureSequential(() => submitUserCreation(deps, { idempotencyKey: randomUUID(), request: person() }), iterations, 0);
      return { ...summary, extra: { dbRoundTripsPerOp: round((provisioningQueries.count - before) / iterations) } };
    },
  },
  {
    name: "sqs-send",
    description: "bare SendMessage to the provisioning queue (the local SQS emulator)",
    run: async ({ scale }) => {
      const sqs = createSqsClient({ region: process.env.AWS_REGION ?? "us-east-1", endpoint: process.env.SQS_ENDPOINT });
      const body = JSON.stringify({ provisioningId: randomUUID(), idempotencyKey: "bench", request: person() });
      try {
        return await measureSequential(() => sqs.send(new SendMessageCommand({ QueueUrl: process.env.PROVISIONING_QUEUE_URL, MessageBody: body })), Math.round(500 * scale));
      } finally {
        sqs.destroy();
      }
    },
  },
  {
    name: "create-user-queued",
    description: "POST /v1/users in async_queue through the dev server, 1 connection: claim, SQS send, 202",
    floor: ["route-minimal-c1", "sqs-send"],
    targetRatio: 1.5,
    setup: () => useMode("async_queue"),
    run: async ({ apiUrl, serviceToken, scale }) => {
      const before = provisioningQueries.count;
      const iterations = Math.round(500 * scale);
      let accepted = 0;
      const summary = await measureSequential(async () => {
        const response = await fetch(`${apiUrl}/v1/users`, {
          method: "POST",
          headers: { authorization: `Bearer ${serviceToken}`, "content-type": "application/json", "idempotency-key": randomUUID() },
          body: JSON.stringify(person()),
        });
        await response.arrayBuffer();
        if (response.status === 202) accepted += 1;
      }, iterations, 0);
      return { ...summary, extra: { accepted, dbRoundTripsPerOp: round((provisioningQueries.count - before) / iterations) } };
    },
  },
  {
    name: "mode-read",
    description: "systemMode().current() as every POST /v1/users makes it, for 3 s: Redis at most once a second, no database",
    setup: async () => void (await systemMode().current()),
    run: async ({ scale }) => {
      const before = provisioningQueries.count;
      const latencies: number[] = [];
      const started = performance.now();
      const until = started + Math.max(1_000, 3_000 * scale);
      while (performance.now() < until) {
        for (let read = 0; read < 1_000; read += 1) {
          const t0 = performance.now();
          await systemMode().current();
          latencies.push(performance.now() - t0);
        }
        // Let timers and I/O run between bursts, as between requests.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const queries = provisioningQueries.count - before;
      return { ...summarize(latencies, performance.now() - started), extra: { dbQ1kReads: round((queries / latencies.length) * 1_000), reads: latencies.length } };
    },
  },
];
