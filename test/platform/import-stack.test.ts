import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { STACK_LAYERS, stackRowName, stackSource } from "../../scripts/size/import-subjects";
import { resolveHandler } from "../../local/sst-manifest";
import type { DeclaredFunction } from "../../local/sst-manifest";
import { bundleDirectory, bundleSource } from "../../scripts/size/bundle";

const run = promisify(execFile);
const directory = bundleDirectory();
afterAll(() => directory.dispose());

const like: DeclaredFunction = {
  trigger: "GET /fixture",
  handler: resolveHandler(resolve("."), "functions/health-events-list.handler"),
  timeoutSeconds: 10,
  memoryMb: 256,
  environment: {},
  runtime: "nodejs22.x",
  architecture: "arm64",
  links: [],
  nodejs: { format: "esm", minify: true, sourcemap: false, plugins: "infra/bundling/plugins.mjs" },
};

/** The package each layer must bring into its row's bundle. */
const LAYER_PACKAGES: Readonly<Record<string, string>> = {
  "sst/resource": "sst",
  middy: "@middy/core",
  "zod/mini": "zod",
  jose: "jose",
  logger: "@aws-lambda-powertools/logger",
};

describe("the import bench's stack rows", () => {
  it("add the libraries one at a time to the clients, each row carrying every layer before it, and import as built", { timeout: 60_000 }, async () => {
    const clients = ["@neondatabase/serverless"] as const;
    const rows = await Promise.all(STACK_LAYERS.map((_, index) => bundleSource(`stack-${index + 1}`, stackSource(clients, index + 1), like, directory.path)));
    rows.forEach((bundle, index) => {
      const packages = bundle.inputs.map((input) => input.name);
      expect(packages).toContain("@neondatabase/serverless");
      for (const layer of STACK_LAYERS.slice(0, index + 1)) expect(packages).toContain(LAYER_PACKAGES[layer.name]);
      for (const layer of STACK_LAYERS.slice(index + 1)) expect(packages).not.toContain(LAYER_PACKAGES[layer.name]);
    });
    expect(rows.map((bundle) => bundle.bytes)).toEqual([...rows.map((bundle) => bundle.bytes)].sort((a, b) => a - b));
    expect(stackRowName(clients, STACK_LAYERS.length)).toBe("stack: clients(serverless) + sst/resource + middy + zod/mini + jose + logger");
    const last = rows.at(-1);
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(pathToFileURL(last?.outfile ?? "").href)}); console.log(Object.keys(m).sort().join(","));`]);
    expect(stdout.trim()).toBe("Resource,createLogger,httpHeaderNormalizer,injectLambdaContext,joseErrors,jwtVerify,middy,neon,parse");
  });
});
