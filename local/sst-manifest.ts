import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** A `functions/x.handler`-style reference, resolved to a file of this repository. */
export interface HandlerRef {
  readonly spec: string;
  readonly file: string;
  readonly exportName: string;
}

export interface FunctionDecl {
  readonly handler: HandlerRef;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
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
}

type FunctionArgs = string | { handler: string; timeout?: string; memory?: string; environment?: Record<string, string> };

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

function toFunction(root: string, args: FunctionArgs): FunctionDecl {
  const normalized = typeof args === "string" ? { handler: args } : args;
  return {
    handler: resolveHandler(root, normalized.handler),
    timeoutSeconds: durationSeconds(normalized.timeout, 20),
    memoryMb: memoryMb(normalized.memory),
    environment: normalized.environment ?? {},
  };
}

function queueNameOf(reference: unknown): string {
  if (typeof reference === "string" && reference.startsWith(ARN_PREFIX)) return reference.slice(ARN_PREFIX.length);
  throw new Error(`unsupported queue reference: ${String(reference)}`);
}

/**
 * Evaluates sst.config.ts offline: the SST globals are replaced by stand-ins that record what the
 * file declares, so the local cloud serves exactly the deployed routes, queues and schedules.
 */
export async function loadSstManifest(configPath = resolve("sst.config.ts"), stage = "local"): Promise<SstManifest> {
  const root = dirname(configPath);
  const secrets: string[] = [];
  const queues: QueueDecl[] = [];
  const routes: RouteDecl[] = [];
  const subscriptions: SubscriptionDecl[] = [];
  const crons: CronDecl[] = [];

  class Secret {
    constructor(readonly name: string) {
      secrets.push(name);
    }
    get value(): string {
      return `secret:${this.name}`;
    }
  }
  class Queue {
    readonly arn: string;
    readonly url: string;
    constructor(
      readonly name: string,
      args: { visibilityTimeout?: string; dlq?: string | { queue: string; retry?: number } } = {},
    ) {
      this.arn = ARN_PREFIX + name;
      this.url = `local-queue:${name}`;
      const dlq = args.dlq === undefined ? undefined : typeof args.dlq === "string" ? { queue: args.dlq } : args.dlq;
      queues.push({
        name,
        visibilityTimeoutSeconds: durationSeconds(args.visibilityTimeout, 30),
        ...(dlq ? { dlq: { name: queueNameOf(dlq.queue), maxReceiveCount: dlq.retry ?? 3 } } : {}),
      });
    }
    subscribe(fn: FunctionArgs, args: { batch?: { size?: number; partialResponses?: boolean } } = {}): void {
      subscriptions.push({
        queue: this.name,
        function: toFunction(root, fn),
        batchSize: args.batch?.size ?? 10,
        partialResponses: args.batch?.partialResponses ?? false,
      });
    }
  }
  class ApiGatewayV2 {
    readonly url = "http://127.0.0.1";
    constructor(readonly name: string) {}
    route(route: string, fn: FunctionArgs): void {
      const [method, path] = route.trim().split(/\s+/);
      if (!method || !path) throw new Error(`route must look like "GET /path": ${route}`);
      routes.push({ method: method.toUpperCase(), path, function: toFunction(root, fn) });
    }
  }
  class Cron {
    constructor(name: string, args: { schedule: string; function?: FunctionArgs; job?: FunctionArgs }) {
      const fn = args.function ?? args.job;
      if (!fn) throw new Error(`cron ${name} has no function`);
      crons.push({ name, schedule: args.schedule, function: toFunction(root, fn) });
    }
  }

  const standIns: Record<string, unknown> = {
    $config: (definition: unknown) => definition,
    $app: { name: "botstate", stage },
    $dev: true,
    $transform: () => undefined,
    $interpolate: (parts: TemplateStringsArray, ...values: unknown[]) =>
      parts.reduce((text, part, index) => text + part + (index < values.length ? String(values[index]) : ""), ""),
    sst: { Secret, aws: { Queue, ApiGatewayV2, Cron } },
  };
  const globals = globalThis as Record<string, unknown>;
  const previous = Object.fromEntries(Object.keys(standIns).map((key) => [key, globals[key]]));
  Object.assign(globals, standIns);
  try {
    const module = (await import(`${pathToFileURL(configPath).href}?manifest=${Date.now()}`)) as {
      default: { app: (input: { stage: string }) => { name: string }; run: () => Promise<unknown> };
    };
    const app = module.default.app({ stage });
    await module.default.run();
    return { appName: app.name, secrets, queues, routes, subscriptions, crons };
  } finally {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete globals[key];
      else globals[key] = value;
    }
  }
}

/** Env name under which a queue's URL reaches the functions locally (ProvisioningQueue -> PROVISIONING_QUEUE_URL). */
export function queueUrlEnvName(queueName: string): string {
  return `${queueName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}_URL`;
}
