import { resolve } from "node:path";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createSqsClient } from "../../core/queue/sqs";
import { nextDelayMs, startCronRunner } from "../../local/cron-runner";
import { createRouter } from "../../local/dev-server";
import { startQueuePoller } from "../../local/queue-poller";
import { resolveHandler } from "../../local/sst-manifest";
import type { FunctionDecl, RouteDecl } from "../../local/sst-manifest";
import { seen } from "../fixtures/jobs-subscriber";
import { ticks } from "../fixtures/tick-cron";
import { cloudEnv, queueUrl } from "../support/cloud";

const fn = (spec: string): FunctionDecl => ({
  handler: resolveHandler(resolve("."), spec),
  timeoutSeconds: 5,
  memoryMb: 128,
  environment: {},
});

describe("route matching", () => {
  const routes: RouteDecl[] = [
    { method: "GET", path: "/v1/lookups/{identifier}", function: fn("test/fixtures/echo-route.handler") },
    { method: "POST", path: "/v1/lookups/batch", function: fn("test/fixtures/echo-route.handler") },
    { method: "GET", path: "/files/{proxy+}", function: fn("test/fixtures/echo-route.handler") },
  ];
  const match = createRouter(routes);

  it("extracts and decodes path parameters", () => {
    const result = match("GET", "/v1/lookups/518796558012178692");
    expect(result).toMatchObject({ pathParameters: { identifier: "518796558012178692" } });
    expect(match("GET", "/v1/lookups/a%20b")).toMatchObject({ pathParameters: { identifier: "a b" } });
  });

  it("prefers literal segments over parameters", () => {
    expect(match("POST", "/v1/lookups/batch")).toMatchObject({ route: { path: "/v1/lookups/batch" } });
  });

  it("supports greedy parameters and tells a wrong method from an unknown path", () => {
    expect(match("GET", "/files/a/b/c")).toMatchObject({ pathParameters: { proxy: "a/b/c" } });
    expect(match("DELETE", "/v1/lookups/x")).toBe("method-not-allowed");
    expect(match("GET", "/nothing")).toBeUndefined();
  });
});

describe("queue poller", () => {
  it("invokes the subscriber with SQS records and keeps only batch item failures", async () => {
    const env = cloudEnv();
    const sqs = createSqsClient({ region: env.AWS_REGION, endpoint: env.SQS_ENDPOINT });
    const url = queueUrl("TestJobs");
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "1", MessageBody: "ok-1" },
          { Id: "2", MessageBody: "fail-2" },
          { Id: "3", MessageBody: "ok-3" },
        ],
      }),
    );
    const poller = startQueuePoller({
      sqs,
      region: env.AWS_REGION,
      queueUrl: url,
      queueArn: "arn:aws:sqs:us-east-1:000000000000:TestJobs",
      subscription: { queue: "TestJobs", function: fn("test/fixtures/jobs-subscriber.handler"), batchSize: 10, partialResponses: true },
      waitSeconds: 1,
    });
    await vi.waitFor(() => expect(seen.map((entry) => entry.body).sort()).toEqual(["fail-2", "ok-1", "ok-3"]), { timeout: 10_000 });
    await poller.stop();

    // Only the failed message is left, in flight until its visibility timeout.
    const visible = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(visible.Messages ?? []).toEqual([]);
    const counts = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
    );
    expect(counts.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe("1");
    expect(counts.Attributes?.ApproximateNumberOfMessages).toBe("0");
    sqs.destroy();
  });
});

describe("cron runner", () => {
  afterEach(() => vi.useRealTimers());

  it("computes EventBridge rate and cron delays", () => {
    const now = new Date("2026-01-01T10:00:30Z");
    expect(nextDelayMs("rate(5 minutes)", now)).toBe(300_000);
    expect(nextDelayMs("rate(1 hour)", now)).toBe(3_600_000);
    expect(nextDelayMs("cron(0/15 * * * ? *)", now)).toBe(14 * 60_000 + 30_000);
    // Day-of-week 2 is Monday in EventBridge; 2026-01-05 is the first Monday after Jan 1st.
    expect(nextDelayMs("cron(0 8 ? * 2 *)", now)).toBe(new Date("2026-01-05T08:00:00Z").getTime() - now.getTime());
    expect(() => nextDelayMs("every minute", now)).toThrow(/unsupported schedule/);
  });

  it("invokes the function on its schedule", async () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    const runner = startCronRunner([{ name: "Tick", schedule: "rate(1 minute)", function: fn("test/fixtures/tick-cron.handler") }]);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(ticks).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.waitFor(() => expect(ticks).toHaveLength(1));
    expect(ticks[0]).toMatchObject({ "detail-type": "Scheduled Event", source: "aws.events" });
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.waitFor(() => expect(ticks).toHaveLength(2));
    runner.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(ticks).toHaveLength(2);
  });
});
