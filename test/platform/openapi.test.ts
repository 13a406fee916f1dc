import { beforeAll, describe, expect, it } from "vitest";
import { buildOpenApi, routeContracts } from "../../local/openapi";
import { loadSstManifest } from "../../local/sst-manifest";
import type { SstManifest } from "../../local/sst-manifest";
import type { RouteContract } from "../../runtime/http/route";

let manifest: SstManifest;
let contracts: RouteContract[];
let document: { openapi: string; paths: Record<string, Record<string, { security: unknown[]; "x-botstate-roles"?: string[]; responses: Record<string, unknown> }>> };

beforeAll(async () => {
  manifest = await loadSstManifest();
  contracts = await routeContracts(manifest.routes);
  document = (await buildOpenApi(manifest.routes)) as typeof document;
});

describe("the API describes itself", () => {
  it("every route infra/ declares is served by a handler whose contract has the same method and path", () => {
    expect(manifest.routes.length).toBeGreaterThan(0);
    manifest.routes.forEach((route, index) => {
      const contract = contracts[index];
      expect(`${contract?.method} ${contract?.path}`, route.function.handler.spec).toBe(`${route.method} ${route.path}`);
    });
  });

  it("the OpenAPI 3.1 document has every declared route, with its auth", () => {
    expect(document.openapi).toBe("3.1.0");
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(manifest.routes.map((route) => `${route.method} ${route.path}`).sort());
    for (const contract of contracts) {
      const operation = document.paths[contract.path]?.[contract.method.toLowerCase()];
      if (contract.auth === "public") expect(operation?.security).toEqual([]);
      else expect(operation?.["x-botstate-roles"]).toEqual(contract.auth);
      for (const status of Object.keys(contract.responses)) expect(operation?.responses[status], `${contract.method} ${contract.path} ${status}`).toBeDefined();
    }
  });

  it("documents request and response bodies from the zod schemas", () => {
    const batch = document.paths["/v1/lookups/batch"]?.post as unknown as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } };
    expect(batch.requestBody.content["application/json"]?.schema.properties).toHaveProperty("identifiers");
    const lookup = document.paths["/v1/lookups/{identifier}"]?.get as unknown as { parameters: { name: string; in: string }[] };
    expect(lookup.parameters).toContainEqual(expect.objectContaining({ name: "identifier", in: "path" }));
  });

  it("documents the request headers a route requires (Idempotency-Key on user creation)", () => {
    const create = document.paths["/v1/users"]?.post as unknown as { parameters: { name: string; in: string; required: boolean }[] };
    expect(create.parameters).toContainEqual(expect.objectContaining({ name: "idempotency-key", in: "header", required: true }));
    const patch = document.paths["/v1/users/{ref}/settings/{type}"]?.patch as unknown as { parameters: { name: string; in: string; required: boolean }[] };
    expect(patch.parameters).toContainEqual(expect.objectContaining({ name: "if-match", in: "header", required: false }));
  });
});
