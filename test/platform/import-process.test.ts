import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { LAMBDA_RUNTIME_MODULES, importScript } from "../../scripts/size/import-process";

const run = promisify(execFile);
const directory = mkdtempSync(join(tmpdir(), "import-process-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A module that records, as it is imported, which of the runtime's modules were already loaded. */
const probe = join(directory, "probe.mjs");
writeFileSync(
  probe,
  `const loaded = ${JSON.stringify(LAMBDA_RUNTIME_MODULES)}.filter((name) => process.moduleLoadList.includes("NativeModule " + name));
console.error(JSON.stringify(loaded));`,
);

async function importProbe(mode: "lambda" | "bare"): Promise<{ loaded: string[]; cpuMs: number; wallMs: number }> {
  const { stdout, stderr } = await run(process.execPath, ["--input-type=module", "-e", importScript([probe], mode)], { env: { PATH: process.env.PATH ?? "" } });
  const sample = JSON.parse(stdout) as { cpuMs: number; wallMs: number };
  return { loaded: JSON.parse(stderr) as string[], ...sample };
}

describe("the bench's import process", () => {
  it("holds what Lambda's runtime interface client loads before it imports a handler", async () => {
    const { loaded, cpuMs, wallMs } = await importProbe("lambda");
    expect(loaded).toEqual([...LAMBDA_RUNTIME_MODULES]);
    expect(cpuMs).toBeGreaterThan(0);
    expect(wallMs).toBeGreaterThan(0);
  });

  it("is a bare node with BENCH_IMPORT_PROCESS=bare", async () => {
    const { loaded } = await importProbe("bare");
    expect(loaded).not.toContain("http");
    expect(loaded).not.toContain("net");
  });
});
