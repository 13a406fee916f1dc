import { createCipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSstManifest, resolveHandler } from "../../local/sst-manifest";
import type { DeclaredFunction, SstManifest } from "../../local/sst-manifest";
import { ALL_CLIENTS, BUDGET_BYTES, bundleClients, bundleDirectory, bundleFunction, bundleProblems, clientsUsed, distinctBundles, sstBuildOptions, sstPlugins } from "../../scripts/size/bundle";
import { invokeFresh } from "../support/fresh-process";

let manifest: SstManifest;
const directory = bundleDirectory();

beforeAll(async () => {
  manifest = await loadSstManifest();
});

afterAll(() => directory.dispose());

/**
 * The environment of a function whose links SST ships encrypted: a file of the links' JSON,
 * AES-256-GCM with a zero IV and the tag appended, and its key (what sst/resource decrypts).
 */
function encryptedLinks(links: Record<string, unknown>): Record<string, string> {
  const key = randomBytes(32);
  const cipher = createCipheriv("aes-256-gcm", key, Buffer.alloc(12, 0));
  const file = join(directory.path, "resource.enc");
  writeFileSync(file, Buffer.concat([cipher.update(JSON.stringify(links)), cipher.final(), cipher.getAuthTag()]));
  return { SST_KEY: key.toString("base64"), SST_KEY_FILE: file };
}

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
    nodejs: { format: "esm", minify: true, sourcemap: false, plugins: "infra/bundling/plugins.mjs" },
  };
}

describe("function bundles, built as sst deploy builds them", () => {
  it("stay within budget: 400 KB minified, 800 KB for a function that uses SQS, 600 KB for the Telegram webhook (grammY, and every capability the bot serves, all its chunks counted); no SQS client without a queue; no zod locale but English", { timeout: 120_000 }, async () => {
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

  it("load no ESM facade of process or fs, nor middy's stream/web and timers/promises, at import, and still run", { timeout: 60_000 }, async () => {
    const fn = declared("test/fixtures/bundles/deferred-builtins.handler");
    const env = { SST_RESOURCE_Probe: JSON.stringify({ value: "linked" }) };
    // Without the plugins, the same bundle loads them all at import.
    const plain = await bundleFunction({ ...fn, nodejs: { format: "esm", minify: true, sourcemap: true } }, directory.path, "deferred-builtins-plain");
    expect((await invokeFresh(plain.outfile, env)).builtins).toEqual(expect.arrayContaining(["process", "internal/process/report", "stream/web", "timers/promises", "internal/fs/streams"]));
    const bundle = await bundleFunction(fn, directory.path);
    const { result, builtins } = await invokeFresh(bundle.outfile, env);
    // sst/resource still reads the environment through the deferred process, and middy still runs (its timeout uses setTimeout).
    expect(result).toEqual({ linked: "linked" });
    // ... and its encrypted links file through the deferred fs, as a deployed function's links come.
    expect((await invokeFresh(bundle.outfile, encryptedLinks({ Probe: { value: "from the key file" } }))).result).toEqual({ linked: "from the key file" });
    expect(builtins).not.toContain("process");
    expect(builtins).not.toContain("internal/process/report");
    expect(builtins).not.toContain("stream/web");
    expect(builtins).not.toContain("timers/promises");
    // fs's facade reads every export (fs.promises, the streams, ...); the ESM loader of a bare process has loaded some of what they load already.
    expect(builtins).not.toContain("internal/fs/streams");
  });

  it("ship a linked source map only with `sourcemap: true`, as SST's builder does for a deploy", { timeout: 60_000 }, async () => {
    const fn = declared("test/fixtures/bundles/deferred-builtins.handler");
    const deployed = await bundleFunction(fn, directory.path, "source-map-off");
    expect(existsSync(`${deployed.outfile}.map`)).toBe(false);
    expect(readFileSync(deployed.outfile, "utf8")).not.toContain("sourceMappingURL");
    const mapped = await bundleFunction({ ...fn, nodejs: { ...fn.nodejs, sourcemap: true } }, directory.path, "source-map-on");
    expect(existsSync(`${mapped.outfile}.map`)).toBe(true);
    expect(readFileSync(mapped.outfile, "utf8")).toContain("//# sourceMappingURL=bundle.mjs.map");
  });

  it("count as a function's clients (its import floor) only the clients it carries, not a residue of a client package", { timeout: 60_000 }, async () => {
    const bySpec = (spec: string) => {
      const fn = manifest.functions.find((candidate) => candidate.handler.spec === spec);
      if (!fn) throw new Error(`${spec} is not declared`);
      return fn;
    };
    const statusRoute = bySpec("functions/provisioning-get.handler");
    const reference = await bundleClients(ALL_CLIENTS, statusRoute, directory.path);
    // The status route reads Postgres only; a shared runtime module leaves @upstash/redis's error classes in its bundle.
    const status = await bundleFunction(statusRoute, directory.path);
    expect(status.clients).toContain("@upstash/redis");
    expect(clientsUsed(status, reference)).toEqual(["@neondatabase/serverless"]);
    const lookups = await bundleFunction(bySpec("functions/lookups-get.handler"), directory.path);
    expect(clientsUsed(lookups, reference)).toEqual(["@upstash/redis", "@neondatabase/serverless"]);
    const webhook = await bundleFunction(bySpec("functions/telegram-webhook.handler"), directory.path);
    expect(clientsUsed(webhook, reference)).toEqual(["@upstash/redis", "@neondatabase/serverless", "grammy"]);
  });

  it("split the Telegram webhook as SST does: its entry loads the bot, the capabilities the bot serves are a chunk loaded by the first command that needs one", { timeout: 60_000 }, async () => {
    const fn = manifest.functions.find((candidate) => candidate.handler.spec === "functions/telegram-webhook.handler");
    if (!fn) throw new Error("the Telegram webhook is not declared");
    const bundle = await bundleFunction(fn, directory.path);
    expect(bundle.outfile).toMatch(/\/telegram-webhook\.mjs$/);
    const capabilities = /^core\/(settings|positions|registration|reconciliation|guards|lookups|credentials)\//;
    // At import: the bot, its ledger and rate limiter, the dispatch; none of the capabilities' code.
    expect(bundle.entryInputFiles).toEqual(expect.arrayContaining(["runtime/telegram/bot.ts", "core/telegram/update-ledger.ts", "core/telegram/dispatch.ts", "core/telegram/adapters/upstash-chat-rate-limiter.ts"]));
    expect(bundle.entryInputFiles.filter((path) => capabilities.test(path))).toEqual([]);
    // They ship (the budget counts them), in the one chunk of the module the bot imports them through.
    expect(bundle.inputFiles.filter((path) => capabilities.test(path)).length).toBeGreaterThan(20);
    expect(bundle.lazy.map((chunk) => chunk.entryPoint)).toEqual(["runtime/telegram/capabilities.ts"]);
    expect(bundle.entryBytes).toBeLessThan(bundle.bytes - 60_000);
  });

  it("follow SST's builder: minified only when minify is true, AWS SDK bundled, SST's banner and target", () => {
    const fn = declared("test/fixtures/bundles/sqs-without-link.handler");
    const options = sstBuildOptions(fn, "/tmp/out/bundle.mjs");
    expect(options).toMatchObject({ platform: "node", format: "esm", target: "es2023", keepNames: true, minify: true, external: ["sharp", "pg-native"] });
    expect(options.banner?.js).toContain("topLevelCreateRequire(import.meta.url)");
    expect(sstBuildOptions({ ...fn, nodejs: { format: "esm" } }, "/tmp/out/bundle.mjs").minify).toBe(false);
    // Split as SST splits: into the target's directory, .mjs files, no outfile.
    const split = sstBuildOptions({ ...fn, nodejs: { ...fn.nodejs, splitting: true } }, "/tmp/out/handler.mjs");
    expect(split).toMatchObject({ splitting: true, outdir: "/tmp/out", outExtension: { ".js": ".mjs" } });
    expect(split.outfile).toBeUndefined();
  });

  it("use the plugins of the file nodejs.plugins names, as SST's builder does", async () => {
    const fn = declared("test/fixtures/bundles/deferred-builtins.handler");
    expect((await sstPlugins(fn)).map((plugin) => plugin.name)).toEqual(["deferred-builtins"]);
    expect(await sstPlugins({ ...fn, nodejs: { format: "esm" } })).toEqual([]);
  });
});
