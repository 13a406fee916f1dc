import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSstManifest, resolveHandler } from "../../local/sst-manifest";
import type { DeclaredFunction, SstManifest } from "../../local/sst-manifest";
import { BUDGET_BYTES, bundleDirectory, bundleFunction, bundleProblems, distinctBundles, sstBuildOptions } from "../../scripts/size/bundle";

let manifest: SstManifest;
const directory = bundleDirectory();

beforeAll(async () => {
  manifest = await loadSstManifest();
});

afterAll(() => directory.dispose());

/** A function declared as infra/platform.ts's lambda() declares them. */
function declared(spec: string, links: DeclaredFunction["links"] = []): DeclaredFunction {
  return {
    trigger: `fixture ${spec}`,
    handler: resolveHandler(resolve("."), spec),
    timeoutSeconds: 10,
    memoryMb: 256,
    environment: {},
    runtime: "nodejs22.x",
    architecture: "arm64",
    links,
    nodejs: { format: "esm", minify: true, sourcemap: true },
  };
}

describe("function bundles, built as sst deploy builds them", () => {
  it("stay within budget: 400 KB minified, 800 KB for a function that uses SQS, 600 KB for the Telegram webhook (grammY, and every capability the bot serves); no SQS client without a queue; no zod locale but English", { timeout: 120_000 }, async () => {
    const functions = distinctBundles(manifest.functions);
    expect(functions.length).toBeGreaterThanOrEqual(new Set(manifest.routes.map((route) => route.function.handler.spec)).size);
    const reports = await Promise.all(functions.map(async (fn) => ({ fn, bundle: await bundleFunction(fn, directory.path) })));
    const problems = reports.flatMap(({ fn, bundle }) => bundleProblems(fn, bundle).map((problem) => `${fn.handler.spec}: ${problem}`));
    expect(problems).toEqual([]);
    // The rules above are only as good as the bundles: each really is minified ESM with the handler in it.
    for (const { bundle } of reports) expect(bundle.bytes).toBeGreaterThan(1_000);
  });

  it("flag a function that bundles the SQS client without linking a queue", { timeout: 60_000 }, async () => {
    const fn = declared("test/fixtures/bundles/sqs-without-link.handler");
    const bundle = await bundleFunction(fn, directory.path);
    expect(bundleProblems(fn, bundle)).toEqual([expect.stringContaining("bundles @aws-sdk/client-sqs but links no queue")]);
    const linked = declared("test/fixtures/bundles/sqs-without-link.handler", [{ kind: "queue", name: "ProvisioningQueue" }]);
    expect(bundleProblems(linked, bundle)).toEqual([]);
    expect(bundle.bytes).toBeLessThanOrEqual(BUDGET_BYTES.withSqs);
  });

  it("flag zod's locales, which `import { z } from \"zod\"` keeps in an esbuild bundle, and point at zod/mini", { timeout: 60_000 }, async () => {
    const fn = declared("test/fixtures/bundles/zod-classic-named.handler");
    const bundle = await bundleFunction(fn, directory.path);
    expect(bundleProblems(fn, bundle)).toEqual([expect.stringContaining('write schemas with "zod/mini"'), expect.stringContaining("zod locales")]);
  });

  it("follow SST's builder: minified only when minify is true, AWS SDK bundled, SST's banner and target", () => {
    const fn = declared("test/fixtures/bundles/sqs-without-link.handler");
    const options = sstBuildOptions(fn, "/tmp/out/bundle.mjs");
    expect(options).toMatchObject({ platform: "node", format: "esm", target: "es2023", keepNames: true, minify: true, external: ["sharp", "pg-native"] });
    expect(options.banner?.js).toContain("topLevelCreateRequire(import.meta.url)");
    expect(sstBuildOptions({ ...fn, nodejs: { format: "esm" } }, "/tmp/out/bundle.mjs").minify).toBe(false);
  });
});
