import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSstManifest } from "../../local/sst-manifest";
import type { SstManifest } from "../../local/sst-manifest";
import { useAppEnv } from "../support/cloud";

let manifest: SstManifest;

beforeAll(async () => {
  // Handlers read their config when imported, as a Lambda cold start does.
  await useAppEnv();
  manifest = await loadSstManifest();
});

const fixture = (name: string) => resolve("test/fixtures/sst", name);

describe("sst.config.ts evaluated offline", () => {
  it("declares the secrets the config reads", () => {
    expect(manifest.appName).toBe("botstate");
    expect(manifest.secrets).toEqual(
      expect.arrayContaining(["JwtSecret", "EncryptionKey", "UpstashRedisRestUrl", "UpstashRedisRestToken", "DatabaseUrl"]),
    );
  });

  it("declares the provisioning queue with its DLQ", () => {
    const queue = manifest.queues.find((q) => q.name === "ProvisioningQueue");
    expect(queue?.dlq).toEqual({ name: "ProvisioningDlq", maxReceiveCount: 5 });
    expect(manifest.queues.some((q) => q.name === "ProvisioningDlq")).toBe(true);
  });

  it("routes GET /health", () => {
    expect(manifest.routes.map((route) => `${route.method} ${route.path}`)).toContain("GET /health");
  });

  it("lists every function of every route, subscription and cron", () => {
    const triggered = [...manifest.routes, ...manifest.subscriptions, ...manifest.crons].map((declaration) => declaration.function);
    expect(manifest.functions.length).toBeGreaterThanOrEqual(manifest.routes.length);
    for (const fn of triggered) expect(manifest.functions).toContain(fn);
  });

  it("points every function at an existing file exporting `handler`", async () => {
    expect(manifest.functions.length).toBeGreaterThan(0);
    for (const fn of manifest.functions) {
      expect(existsSync(fn.handler.file), fn.handler.spec).toBe(true);
      expect(fn.handler.exportName).toBe("handler");
      const module = (await import(fn.handler.file)) as Record<string, unknown>;
      expect(typeof module.handler, fn.handler.spec).toBe("function");
      expect(fn.timeoutSeconds).toBeLessThanOrEqual(30);
    }
  });

  it("sets runtime, architecture, format, minify and source maps of every function explicitly, and splits the Telegram webhook", () => {
    // SST 4's builder reads `minify` as a plain boolean: left out, the bundle is NOT minified
    // (whatever the docs' default says), and its runtime default moved to nodejs24.x.
    for (const fn of manifest.functions) {
      expect({ trigger: fn.trigger, runtime: fn.runtime, architecture: fn.architecture, ...fn.nodejs }).toEqual({
        trigger: fn.trigger,
        runtime: "nodejs22.x",
        architecture: "arm64",
        format: "esm",
        minify: true,
        sourcemap: false,
        plugins: "infra/bundling/plugins.mjs",
        // The Telegram webhook ships each capability the bot serves as a chunk loaded by the command that needs it.
        ...(fn.handler.spec === "functions/telegram-webhook.handler" ? { splitting: true } : {}),
      });
      // With no map shipped, a flag that makes Node look for one would only cost.
      expect(fn.environment.NODE_OPTIONS ?? "", fn.trigger).not.toContain("--enable-source-maps");
    }
  });

  it("links each function to declared secrets and queues only", () => {
    const queues = new Set(manifest.queues.map((queue) => queue.name));
    const secrets = new Set(manifest.secrets);
    for (const fn of manifest.functions) {
      for (const link of fn.links) expect((link.kind === "queue" ? queues : secrets).has(link.name), `${fn.trigger} -> ${link.name}`).toBe(true);
    }
  });
});

describe("the SST 4 stand-ins", () => {
  it("record secrets, queues, subscriptions, routes, functions and both cron components", async () => {
    const fixtureManifest = await loadSstManifest(fixture("stand-ins.config.mjs"), "pr-12");
    expect(fixtureManifest.appName).toBe("fixture");
    expect(fixtureManifest.secrets).toEqual(["FixtureSecret"]);
    expect(fixtureManifest.queues).toEqual([
      { name: "FixtureDlq", visibilityTimeoutSeconds: 30 },
      { name: "FixtureQueue", visibilityTimeoutSeconds: 120, dlq: { name: "FixtureDlq", maxReceiveCount: 3 } },
    ]);
    expect(fixtureManifest.subscriptions).toMatchObject([{ queue: "FixtureQueue", batchSize: 5, partialResponses: true, function: { timeoutSeconds: 60 } }]);
    expect(fixtureManifest.routes.map((route) => `${route.method} ${route.path}`)).toEqual(["GET /echo/{id}", "POST /echo", "POST /tick"]);
    // A Function component reached by its ARN is the same function, not a second one.
    expect(fixtureManifest.routes[2]?.function).toBe(fixtureManifest.functions[3]);
    expect(fixtureManifest.crons.map((cron) => [cron.name, cron.schedule])).toEqual([
      ["FixtureTick", "rate(1 minute)"],
      ["FixtureLegacyTick", "cron(0 3 * * ? *)"],
    ]);
    expect(fixtureManifest.functions.map((fn) => fn.trigger)).toEqual([
      "queue FixtureQueue",
      "GET /echo/{id}",
      "POST /echo",
      "function FixtureTicker",
      "cron FixtureLegacyTick",
      "cron FixtureOff",
    ]);
  });

  it("keep SST's defaults where a function leaves them out, and its options where it sets them", async () => {
    const { functions } = await loadSstManifest(fixture("stand-ins.config.mjs"));
    const [subscriber, get, post, ticker] = functions;
    expect(subscriber?.links).toEqual([
      { kind: "secret", name: "FixtureSecret" },
      { kind: "queue", name: "FixtureQueue" },
    ]);
    expect(get).toMatchObject({ runtime: "nodejs24.x", architecture: "x86_64", timeoutSeconds: 20, memoryMb: 1024, nodejs: {}, links: [] });
    expect(post).toMatchObject({ runtime: "nodejs22.x", architecture: "arm64", nodejs: { format: "esm", minify: true, sourcemap: true } });
    expect(ticker).toMatchObject({ memoryMb: 128, handler: { exportName: "handler", file: resolve("test/fixtures/tick-cron.ts") } });
  });

  it("refuse what SST refuses at deploy time", async () => {
    await expect(loadSstManifest(fixture("duplicate-route.config.mjs"))).rejects.toThrow("route declared twice: GET /echo");
    await expect(loadSstManifest(fixture("second-subscriber.config.mjs"))).rejects.toThrow("already has a subscriber");
    await expect(loadSstManifest(fixture("function-component-route.config.mjs"))).rejects.toThrow("pass its .arn");
  });

  it("leave no SST global behind", async () => {
    await loadSstManifest(fixture("stand-ins.config.mjs"));
    expect("sst" in globalThis || "$config" in globalThis || "$app" in globalThis).toBe(false);
  });
});
