import * as z from "zod/mini";
import { errorResponseSchema } from "./error-mapping";
import type { RouteContract, RouteSchema } from "./route";

type JsonSchema = Record<string, unknown>;

const ERROR_STATUSES: Readonly<Record<number, string>> = {
  400: "Malformed request: `error.fields` names each bad field",
  401: "Missing, invalid or expired bearer token",
  403: "The token's role may not call this route",
  413: "Body too large",
  415: "Unsupported content type",
  422: "A domain rule is broken: `error.fields` names each bad field",
  500: "Internal error (details in the logs under `requestId`)",
  503: "A dependency is unavailable; `Retry-After` says when to retry, `error.outcome` whether the change was applied",
};

function jsonSchema(schema: z.core.$ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  return rest;
}

/** Path, query and header parameters from an object schema (the input side: what a caller sends). */
function parameters(schema: RouteSchema | undefined, where: "path" | "query" | "header"): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchema(schema(), "input");
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({ name, in: where, required: where === "path" || required.has(name), schema: property }));
}

function operation(route: RouteContract): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    responses[status] = schema
      ? { description: route.summary, content: { "application/json": { schema: jsonSchema(schema(), "output") } } }
      : { description: route.summary };
  }
  const errorStatuses = Object.keys(ERROR_STATUSES).map(Number).filter((status) => route.auth !== "public" || (status !== 401 && status !== 403));
  for (const status of errorStatuses) {
    responses[String(status)] ??= { description: ERROR_STATUSES[status], content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  }
  return {
    summary: route.summary,
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
    ...(route.auth === "public" ? { security: [] } : { security: [{ bearer: [] }], "x-botstate-roles": route.auth }),
    parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query"), ...parameters(route.requestHeaders, "header")],
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries((route.bodyContentTypes ?? ["application/json"]).map((type) => [type, { schema: jsonSchema((route.body as RouteSchema)(), "input") }])),
          },
        }
      : {}),
    responses,
  };
}

/** OpenAPI 3.1 from the routes' own declarations (zod's JSON Schema output, no hand-written copy). */
export function openApiDocument(routes: readonly RouteContract[], info: { readonly title: string; readonly version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of [...routes].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: { Error: jsonSchema(errorResponseSchema(), "output") },
    },
  };
}
