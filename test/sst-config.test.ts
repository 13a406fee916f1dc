import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSstManifest } from "../local/sst-manifest";
import type { SstManifest } from "../local/sst-manifest";
import { useAppEnv } from "./support/cloud";

let manifest: SstManifest;

beforeAll(async () => {
  // Handlers read their config when imported, as a Lambda cold start does.
  await useAppEnv();
  manifest = await loadSstManifest();
});

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

  it("points every function at an existing file exporting `handler`", async () => {
    const functions = [
      ...manifest.routes.map((route) => route.function),
      ...manifest.subscriptions.map((subscription) => subscription.function),
      ...manifest.crons.map((cron) => cron.function),
    ];
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(existsSync(fn.handler.file), fn.handler.spec).toBe(true);
      expect(fn.handler.exportName).toBe("handler");
      const module = (await import(fn.handler.file)) as Record<string, unknown>;
      expect(typeof module.handler, fn.handler.spec).toBe("function");
      expect(fn.timeoutSeconds).toBeLessThanOrEqual(30);
    }
  });
});
