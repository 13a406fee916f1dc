import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** A `functions/x.handler`-style reference, resolved to a file of this repository. */
export interface HandlerRef {
  readonly spec: string;
  readonly file: string;
  readonly exportName: string;
}

/** What the local cloud needs to run a function. */
export interface FunctionDecl {
  readonly handler: HandlerRef;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
}

/** A resource a function links: its value reaches the function through `Resource` from "sst". */
export interface LinkDecl {
  readonly kind: "secret" | "queue";
  readonly name: string;
}

/** The `nodejs` bundling options of an SST 4 Function that change what ends up in the bundle. */
export interface NodejsOptions {
  readonly format?: "esm" | "cjs";
  readonly minify?: boolean;
  readonly sourcemap?: boolean;
  readonly banner?: string;
  readonly install?: readonly string[] | Readonly<Record<string, string>>;
  /** A file (relative to sst.config.ts) whose default export is a list of esbuild plugins. */
  readonly plugins?: string;
  /** Dynamically imported modules become chunks of their own (esbuild `splitting`, `.mjs` files beside the entry). */
  readonly splitting?: boolean;
  readonly esbuild?: {
    readonly external?: readonly string[];
    readonly keepNames?: boolean;
    readonly target?: string;
    readonly mainFields?: readonly string[];
    readonly conditions?: readonly string[];
    readonly define?: Readonly<Record<string, string>>;
  };
}

/** Everything declared about one Lambda function: what runs it locally, and what SST deploys. */
export interface DeclaredFunction extends FunctionDecl {
  /** What invokes it: `GET /health`, `queue ProvisioningQueue`, `cron SyncPositions`, `function Name`. */
  readonly trigger: string;
  /** SST 4 defaults: `nodejs24.x`, `x86_64`. */
  readonly runtime: string;
  readonly architecture: "x86_64" | "arm64";
  readonly links: readonly LinkDecl[];
  readonly nodejs: NodejsOptions;
}

export interface RouteDecl {
  readonly method: string;
  readonly path: string;
  readonly function: FunctionDecl;
}

export interface QueueDecl {
  readonly name: string;
  readonly visibilityTimeoutSeconds: number;
  readonly dlq?: { readonly name: string; readonly maxReceiveCount: number };
}

export interface SubscriptionDecl {
  readonly queue: string;
  readonly function: FunctionDecl;
  readonly batchSize: number;
  readonly partialResponses: boolean;
}

export interface CronDecl {
  readonly name: string;
  readonly schedule: string;
  readonly function: FunctionDecl;
}

export interface SstManifest {
  readonly appName: string;
  readonly secrets: readonly string[];
  readonly queues: readonly QueueDecl[];
  readonly routes: readonly RouteDecl[];
  readonly subscriptions: readonly SubscriptionDecl[];
  readonly crons: readonly CronDecl[];
  /** Every function of every trigger above (and standalone ones), in declaration order. */
  readonly functions: readonly DeclaredFunction[];
}

interface FunctionArgsObject {
  readonly handler: string;
  readonly timeout?: string;
  readonly memory?: string;
  readonly environment?: Record<string, string>;
  readonly runtime?: string;
  readonly architecture?: "x86_64" | "arm64";
  readonly link?: readonly unknown[];
  readonly nodejs?: NodejsOptions;
}

/** What SST accepts where a function goes: a handler string, function args, or a Function component. */
type FunctionArgs = string | FunctionArgsObject | FunctionStandIn;

const ARN_PREFIX = "arn:aws:sqs:local:000000000000:";

/** Seconds of an SST duration such as "10 seconds" or "1 minute". */
export function durationSeconds(value: string | undefined, fallback: number): number {
  if (!value) return fallback;
  const match = /^(\d+)\s*(second|minute|hour|day)s?$/.exec(value.trim());
  if (!match?.[1] || !match[2]) throw new Error(`unsupported duration: ${value}`);
  const unit = { second: 1, minute: 60, hour: 3600, day: 86400 }[match[2] as "second"];
  return Number(match[1]) * unit;
}

function memoryMb(value: string | undefined): number {
  if (!value) return 1024;
  const match = /^(\d+)\s*MB$/.exec(value.trim());
  if (!match?.[1]) throw new Error(`unsupported memory: ${value}`);
  return Number(match[1]);
}

export function resolveHandler(root: string, spec: string): HandlerRef {
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) throw new Error(`handler must look like path/file.export: ${spec}`);
  const base = resolve(root, spec.slice(0, dot));
  const file = [".ts", ".mts", ".js", ".mjs"].map((ext) => base + ext).find((candidate) => existsSync(candidate));
  return { spec, file: file ?? `${base}.ts`, exportName: spec.slice(dot + 1) };
}

function queueNameOf(reference: unknown): string {
  if (typeof reference === "string" && reference.startsWith(ARN_PREFIX)) return reference.slice(ARN_PREFIX.length);
  throw new Error(`unsupported queue reference: ${String(reference)}`);
}

// ---------------------------------------------------------------------------------------------
// Stand-ins for the SST 4 components botstate uses. Each records what it is given in a Recorder;
// anything SST would refuse at deploy time (a duplicate route, a second subscriber) throws here.

/** Collects the declarations while sst.config.ts runs. */
class Recorder {
  readonly secrets: string[] = [];
  readonly queues: QueueDecl[] = [];
  readonly routes: RouteDecl[] = [];
  readonly subscriptions: SubscriptionDecl[] = [];
  readonly crons: CronDecl[] = [];
  readonly functions: DeclaredFunction[] = [];

  constructor(readonly root: string) {}

  private readonly byArn = new Map<string, DeclaredFunction>();

  /**
   * A function of some trigger, recorded once even when a Function component is reused: by its
   * ARN anywhere, as the component itself only where SST 4 takes one (Cron and CronV2).
   */
  function(trigger: string, args: FunctionArgs, componentAllowed = false): DeclaredFunction {
    if (args instanceof FunctionStandIn) {
      if (!componentAllowed) throw new Error(`${trigger}: SST takes a Function component only in a cron; pass its .arn`);
      return args.declared;
    }
    const existing = typeof args === "string" ? this.byArn.get(args) : undefined;
    if (existing) return existing;
    const declared = declareFunction(this.root, trigger, typeof args === "string" ? { handler: args } : args);
    this.functions.push(declared);
    return declared;
  }

  /** A standalone Function component, addressable by its ARN. */
  component(name: string, args: FunctionArgsObject): { declared: DeclaredFunction; arn: string } {
    const declared = this.function(`function ${name}`, args);
    const arn = `arn:aws:lambda:local:000000000000:function:${name}`;
    this.byArn.set(arn, declared);
    return { declared, arn };
  }

  toManifest(appName: string): SstManifest {
    const { secrets, queues, routes, subscriptions, crons, functions } = this;
    return { appName, secrets, queues, routes, subscriptions, crons, functions };
  }
}

function declareFunction(root: string, trigger: string, args: FunctionArgsObject): DeclaredFunction {
  return {
    trigger,
    handler: resolveHandler(root, args.handler),
    timeoutSeconds: durationSeconds(args.timeout, 20),
    memoryMb: memoryMb(args.memory),
    environment: args.environment ?? {},
    runtime: args.runtime ?? "nodejs24.x",
    architecture: args.architecture ?? "x86_64",
    links: (args.link ?? []).map((resource) => linkOf(trigger, resource)),
    nodejs: args.nodejs ?? {},
  };
}

function linkOf(trigger: string, resource: unknown): LinkDecl {
  if (resource instanceof SecretStandIn) return { kind: "secret", name: resource.name };
  if (resource instanceof QueueStandIn) return { kind: "queue", name: resource.name };
  throw new Error(`${trigger} links something the local cloud does not know: ${String(resource)}`);
}

let recorder: Recorder | undefined;

function recording(): Recorder {
  if (!recorder) throw new Error("SST stand-ins used outside loadSstManifest");
  return recorder;
}

class SecretStandIn {
  constructor(
    readonly name: string,
    readonly placeholder?: string,
  ) {
    recording().secrets.push(name);
  }
  get value(): string {
    return `secret:${this.name}`;
  }
}

interface QueueArgs {
  readonly visibilityTimeout?: string;
  readonly dlq?: string | { readonly queue: string; readonly retry?: number };
}

interface SubscriberArgs {
  readonly batch?: { readonly size?: number; readonly partialResponses?: boolean };
}

class QueueStandIn {
  readonly arn: string;
  readonly url: string;
  private subscribed = false;

  constructor(
    readonly name: string,
    args: QueueArgs = {},
  ) {
    this.arn = ARN_PREFIX + name;
    this.url = `local-queue:${name}`;
    const dlq = typeof args.dlq === "string" ? { queue: args.dlq } : args.dlq;
    recording().queues.push({
      name,
      visibilityTimeoutSeconds: durationSeconds(args.visibilityTimeout, 30),
      // SST's default: 3 receives before a message goes to the DLQ.
      ...(dlq ? { dlq: { name: queueNameOf(dlq.queue), maxReceiveCount: dlq.retry ?? 3 } } : {}),
    });
  }

  subscribe(fn: FunctionArgs, args: SubscriberArgs = {}): void {
    if (this.subscribed) throw new Error(`queue ${this.name} already has a subscriber (SST allows one)`);
    this.subscribed = true;
    recording().subscriptions.push({
      queue: this.name,
      function: recording().function(`queue ${this.name}`, fn),
      batchSize: args.batch?.size ?? 10,
      partialResponses: args.batch?.partialResponses ?? false,
    });
  }
}

class ApiGatewayV2StandIn {
  readonly url = "http://127.0.0.1";
  constructor(readonly name: string) {}

  route(route: string, fn: FunctionArgs, _args: { readonly name?: string } = {}): void {
    const [method, path] = route.trim().split(/\s+/);
    if (!method || !path) throw new Error(`route must look like "GET /path": ${route}`);
    const key = `${method.toUpperCase()} ${path}`;
    const { routes } = recording();
    if (routes.some((existing) => `${existing.method} ${existing.path}` === key)) throw new Error(`route declared twice: ${key}`);
    routes.push({ method: method.toUpperCase(), path, function: recording().function(key, fn) });
  }
}

interface CronArgs {
  readonly schedule: string;
  readonly function?: FunctionArgs;
  /** Deprecated in SST 4 in favour of `function`; still accepted. */
  readonly job?: FunctionArgs;
  readonly enabled?: boolean;
}

/** `sst.aws.Cron` (deprecated in SST 4) and `sst.aws.CronV2` (EventBridge Scheduler) take the same core args. */
class CronStandIn {
  constructor(name: string, args: CronArgs) {
    const fn = args.function ?? args.job;
    if (!fn) throw new Error(`cron ${name} has no function`);
    if (args.function && args.job) throw new Error(`cron ${name}: give "function" or "job", not both`);
    const declared = recording().function(`cron ${name}`, fn, true);
    // A disabled schedule is deployed but never fires; locally it is not run either.
    if (args.enabled !== false) recording().crons.push({ name, schedule: args.schedule, function: declared });
  }
}

/** `sst.aws.Function`: a function of its own, which a route, queue or cron may then reuse. */
class FunctionStandIn {
  readonly declared: DeclaredFunction;
  readonly arn: string;
  constructor(name: string, args: FunctionArgsObject) {
    ({ declared: this.declared, arn: this.arn } = recording().component(name, args));
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

function sstGlobals(stage: string): Record<string, unknown> {
  return {
    $config: (definition: unknown) => definition,
    $app: { name: "botstate", stage },
    $dev: true,
    $transform: () => undefined,
    $interpolate: (parts: TemplateStringsArray, ...values: unknown[]) =>
      parts.reduce((text, part, index) => text + part + (index < values.length ? String(values[index]) : ""), ""),
    sst: {
      Secret: SecretStandIn,
      aws: { Queue: QueueStandIn, ApiGatewayV2: ApiGatewayV2StandIn, Cron: CronStandIn, CronV2: CronStandIn, Function: FunctionStandIn },
    },
  };
}

/** Runs `body` with the given globals installed, then puts back whatever was there. */
async function withGlobals<T>(installed: Record<string, unknown>, body: () => Promise<T>): Promise<T> {
  const globals = globalThis as Record<string, unknown>;
  const previous = Object.fromEntries(Object.keys(installed).map((key) => [key, globals[key]]));
  Object.assign(globals, installed);
  try {
    return await body();
  } finally {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete globals[key];
      else globals[key] = value;
    }
  }
}

interface SstConfigModule {
  readonly default: { app: (input: { stage: string }) => { name: string }; run: () => Promise<unknown> };
}

/** Imports the config afresh (a new URL each time) and runs `app` and `run` as `sst deploy` would. */
async function runConfig(configPath: string, stage: string): Promise<string> {
  const module = (await import(`${pathToFileURL(configPath).href}?manifest=${Date.now()}`)) as SstConfigModule;
  const app = module.default.app({ stage });
  await module.default.run();
  return app.name;
}

let evaluations: Promise<unknown> = Promise.resolve();

/**
 * Evaluates sst.config.ts offline: the SST globals are replaced by stand-ins that record what the
 * file declares, so the local cloud serves exactly the deployed routes, queues and schedules.
 * Evaluations run one at a time (the stand-ins record into one module-level recorder).
 */
export function loadSstManifest(configPath = resolve("sst.config.ts"), stage = "local"): Promise<SstManifest> {
  const evaluation = evaluations.then(async () => {
    recorder = new Recorder(dirname(configPath));
    try {
      const appName = await withGlobals(sstGlobals(stage), () => runConfig(configPath, stage));
      return recording().toManifest(appName);
    } finally {
      recorder = undefined;
    }
  });
  evaluations = evaluation.catch(() => undefined);
  return evaluation;
}

/** Env name under which a queue's URL reaches the functions locally (ProvisioningQueue -> PROVISIONING_QUEUE_URL). */
export function queueUrlEnvName(queueName: string): string {
  return `${queueName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}_URL`;
}
