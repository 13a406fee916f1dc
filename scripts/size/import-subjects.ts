import type { DeclaredFunction } from "../../local/sst-manifest";
import { ALL_CLIENTS, bundleClients, bundleFunction, bundleSource, clientsSource, clientsUsed } from "./bundle";
import type { BundleReport, ClientPackage } from "./bundle";

/**
 * What the import measures (`npm run bench` import-handler, `npm run import-instructions`) import:
 * each function's bundle next to the bundle of just the clients it uses, and the stack rows.
 */

/** A bundle of just the clients some functions use. */
export interface Floor {
  readonly name: string;
  readonly bundle: BundleReport;
}

/** A bundle to import, and the floor it is measured against. */
export interface ImportSubject {
  readonly name: string;
  readonly bundle: BundleReport;
  /** The function's NODE_OPTIONS, which its floor is imported with too. */
  readonly nodeOptions: string | undefined;
  readonly floor: Floor;
}

/** Functions that use the same clients (and Node options) share a floor's bundle. */
const floorKey = (clients: readonly ClientPackage[], nodeOptions: string | undefined) => `${clients.join("+")}|${nodeOptions ?? ""}`;

/** Bundles every declared function and, per set of clients they use, the bundle of just those clients. */
export async function bundleWithFloors(functions: readonly DeclaredFunction[], directory: string): Promise<ImportSubject[]> {
  const handlers: ImportSubject[] = [];
  const floors = new Map<string, Floor>();
  const [first] = functions;
  if (!first) return handlers;
  const reference = await bundleClients(ALL_CLIENTS, first, directory);
  for (const fn of functions) {
    const bundle = await bundleFunction(fn, directory);
    const clients = clientsUsed(bundle, reference);
    const nodeOptions = fn.environment.NODE_OPTIONS;
    const key = floorKey(clients, nodeOptions);
    const floor = floors.get(key) ?? { name: clientsName(clients), bundle: await bundleClients(clients, fn, directory) };
    floors.set(key, floor);
    handlers.push({ name: fn.handler.spec.replace(/\.handler$/, ""), bundle, nodeOptions, floor });
  }
  return handlers;
}

export function clientsName(clients: readonly ClientPackage[]): string {
  return `clients(${clients.map((client) => client.replace(/^@[^/]+\//, "").replace(/^client-/, "")).join("+")})`;
}

/**
 * A library every HTTP function here is built on, as module source that takes from it what the
 * functions take: `Resource` for their links, middy with its header normaliser, zod/mini with its
 * English messages (schemas built on first use, as core/validation/lazy.ts does), jose's verifier,
 * and the Powertools logger with its middleware (constructed on the first invocation, as
 * runtime/platform.ts does, so only imported here).
 */
interface StackLayer {
  readonly name: string;
  readonly source: readonly string[];
}

export const STACK_LAYERS: readonly StackLayer[] = [
  { name: "sst/resource", source: [`export { Resource } from "sst/resource";`] },
  { name: "middy", source: [`export { default as middy } from "@middy/core";`, `export { default as httpHeaderNormalizer } from "@middy/http-header-normalizer";`] },
  {
    name: "zod/mini",
    source: [
      `import * as z from "zod/mini";`,
      `import { en } from "zod/locales";`,
      `z.config(en());`,
      `export const parse = (value: unknown) => z.safeParse(z.object({ ref: z.string().check(z.minLength(1)), limit: z.optional(z.number()) }), value);`,
    ],
  },
  { name: "jose", source: [`export { jwtVerify, errors as joseErrors } from "jose";`] },
  {
    name: "logger",
    source: [
      `import { Logger } from "@aws-lambda-powertools/logger";`,
      `export { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";`,
      `export const createLogger = () => new Logger({ serviceName: "stack" });`,
    ],
  },
];

/** The floors the stack rows are built on: Postgres alone, and Redis + Postgres. */
const STACK_FLOORS: readonly (readonly ClientPackage[])[] = [["@neondatabase/serverless"], ["@upstash/redis", "@neondatabase/serverless"]];

/** `clients(serverless) + sst/resource + middy`: the floor and the first `count` layers. */
export function stackRowName(clients: readonly ClientPackage[], count: number): string {
  return [`stack: ${clientsName(clients)}`, ...STACK_LAYERS.slice(0, count).map((layer) => layer.name)].join(" + ");
}

/** The clients' module source with the first `count` layers added. */
export function stackSource(clients: readonly ClientPackage[], count: number): string {
  return [clientsSource(clients), ...STACK_LAYERS.slice(0, count).flatMap((layer) => layer.source)].join("\n");
}

/**
 * Rows that are no function: each floor that HTTP functions here stand on, with the libraries of
 * STACK_LAYERS added one at a time and no code of ours, measured next to that floor like a
 * function. They show what of the import target the chosen stack uses before any capability
 * code, and what each library adds; they have no verdict.
 */
export async function bundleStackRows(functions: readonly DeclaredFunction[], handlers: readonly ImportSubject[], directory: string): Promise<ImportSubject[]> {
  const like = functions.find((fn) => /^(GET|POST|PUT|PATCH|DELETE) /.test(fn.trigger));
  if (!like) return [];
  const rows: ImportSubject[] = [];
  for (const clients of STACK_FLOORS) {
    const floorName = clientsName(clients);
    const floor = handlers.find((handler) => handler.floor.name === floorName && handler.nodeOptions === undefined)?.floor;
    if (!floor) continue;
    for (let count = 1; count <= STACK_LAYERS.length; count += 1) {
      const bundle = await bundleSource(`stack-${clients.length}-${count}`, stackSource(clients, count), like, directory);
      rows.push({ name: stackRowName(clients, count), bundle, nodeOptions: undefined, floor });
    }
  }
  return rows;
}
