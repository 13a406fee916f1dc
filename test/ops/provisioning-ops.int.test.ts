import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqsClient } from "../../core/queue/sqs";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { createQueuePair, queueDepth } from "../provisioning/support/queues";
import type { QueuePair } from "../provisioning/support/queues";
import { runOpsCaptured } from "../support/ops";
import type { OpsRun } from "../support/ops";

let app: AppEnv;
let sqs: SQSClient;
let queues: QueuePair;
let db: pg.Client;
let cwd: string;
const exhausted = [randomUUID(), randomUUID(), randomUUID()];

async function ops(...argv: string[]): Promise<OpsRun> {
  const env = { ...app.env, PROVISIONING_QUEUE_URL: queues.queueUrl, PROVISIONING_DLQ_URL: queues.dlqUrl };
  return runOpsCaptured(argv, { env, cwd });
}

beforeAll(async () => {
  app = await useAppEnv();
  sqs = createSqsClient({ region: "us-east-1", endpoint: app.env.SQS_ENDPOINT });
  queues = await createQueuePair(sqs, { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
  cwd = await mkdtemp(join(tmpdir(), "botstate-ops-"));
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  const request = { email: "a@example.com", telegramId: "7000000001", okxUid: null, plan: null, displayName: null };
  for (const id of exhausted) {
    await db.query(
      `INSERT INTO provisioning_requests (id, idempotency_key, status, request, failure_kind, error, receive_count)
       VALUES ($1::uuid, $1::text, 'failed', $2, 'exhausted', 'gave up after 5 receives', 5)`,
      [id, JSON.stringify(request)],
    );
  }
  await db.query(`INSERT INTO provisioning_requests (id, idempotency_key, status, request) VALUES ($1, 'p', 'pending', $2)`, [randomUUID(), JSON.stringify(request)]);
  // What SQS would have parked: the three exhausted messages and one nobody could read.
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queues.dlqUrl,
      Entries: [
        ...exhausted.map((id, index) => ({ Id: String(index), MessageBody: JSON.stringify({ provisioningId: id, idempotencyKey: id, request }) })),
        { Id: "x", MessageBody: "garbage" },
      ],
    }),
  );
});

afterAll(async () => {
  await db?.end();
  sqs?.destroy();
  await app?.database.drop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe("ops provisioning-status and redrive-dlq", () => {
  it("reports records by state and what waits in the queue and the DLQ", async () => {
    const { code, out } = await ops("provisioning-status");
    expect(code).toBe(0);
    expect(out).toContain("pending 1");
    expect(out).toContain("failed 3 (poison 0, exhausted 3)");
    expect(out).toContain("DLQ       parked 4");
    expect(out).toContain(exhausted[0]);
  });

  it("changes nothing in a dry run", async () => {
    const { code, out } = await ops("redrive-dlq", "--dry-run");
    expect(code).toBe(0);
    expect(out).toContain("Dry run: 4 message(s) would move");
    for (const id of exhausted) expect(out).toContain(id);
    expect(await queueDepth(sqs, queues.dlqUrl)).toEqual({ visible: 4, inFlight: 0 });
    expect(await queueDepth(sqs, queues.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    const { rows } = await db.query("SELECT count(*)::int AS n FROM provisioning_requests WHERE status = 'failed'");
    expect(rows[0]?.n).toBe(3);
  });

  it("moves at most --limit messages, then the rest, reopening their records", async () => {
    const first = await ops("redrive-dlq", "--limit", "2");
    expect(first.code).toBe(0);
    expect(first.out).toContain("Moved 2 message(s)");
    expect(first.out).toContain("Left in the DLQ: 2");
    expect(await queueDepth(sqs, queues.queueUrl)).toEqual({ visible: 2, inFlight: 0 });

    const rest = await ops("redrive-dlq");
    expect(rest.out).toContain("Moved 2 message(s)");
    expect(rest.out).toContain("Left in the DLQ: 0");
    expect(await queueDepth(sqs, queues.queueUrl)).toEqual({ visible: 4, inFlight: 0 });
    const { rows } = await db.query<{ status: string }>("SELECT status FROM provisioning_requests WHERE id = ANY($1::uuid[])", [exhausted]);
    expect(rows.map((row) => row.status)).toEqual(["pending", "pending", "pending"]);
  });

  it("refuses a bad --limit with the usage text", async () => {
    const { code, err } = await ops("redrive-dlq", "--limit", "0");
    expect(code).toBe(2);
    expect(err).toContain("--limit must be a positive integer");
  });
});
