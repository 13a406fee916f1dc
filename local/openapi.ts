import { readFileSync } from "node:fs";
import { openApiDocument } from "../runtime/http/openapi";
import type { RouteContract } from "../runtime/http/route";
import type { RouteDecl } from "./sst-manifest";

/** The contract each declared route's handler carries (httpRoute attaches it as `handler.route`). */
export async function routeContracts(routes: readonly RouteDecl[]): Promise<RouteContract[]> {
  const contracts: RouteContract[] = [];
  for (const route of routes) {
    const module = (await import(route.function.handler.file)) as Record<string, { route?: RouteContract } | undefined>;
    const contract = module[route.function.handler.exportName]?.route;
    if (!contract) throw new Error(`${route.function.handler.spec} is not an httpRoute handler (no route contract)`);
    contracts.push(contract);
  }
  return contracts;
}

export async function buildOpenApi(routes: readonly RouteDecl[]): Promise<Record<string, unknown>> {
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return openApiDocument(await routeContracts(routes), { title: "botstate", version });
}
