import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { lazy } from "../../core/validation/lazy";
import { httpRoute } from "../../runtime/http/route";
import { configFor, useConfigSource } from "../../runtime/config";

/** A lazy schema that counts how often it is built. */
function counted<S>(build: () => S): { readonly schema: () => S; builds: number } {
  const probe = {
    builds: 0,
    schema: lazy(() => {
      probe.builds += 1;
      return build();
    }),
  };
  return probe;
}

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "lazy-schemas",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:lazy-schemas",
  memoryLimitInMB: "512",
  awsRequestId: "lazy-schemas-request",
  logGroupName: "/aws/lambda/lazy-schemas",
  logStreamName: "test",
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

function request(name: string, body: unknown): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /lazy/{name}",
    rawPath: `/lazy/${name}`,
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    pathParameters: { name },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId: `req-${name}` } as APIGatewayProxyEventV2["requestContext"],
  };
}

describe("lazy()", () => {
  it("builds on the first call only and returns that value ever after", () => {
    const probe = counted(() => z.string());
    expect(probe.builds).toBe(0);
    const first = probe.schema();
    expect(probe.schema()).toBe(first);
    expect(probe.builds).toBe(1);
  });
});

describe("configFor with a lazy schema", () => {
  it("builds it on the first read, validates once per container and names a missing value", () => {
    const probe = counted(() => z.object({ LAZY_NEEDED: z.string().check(z.minLength(1)) }));
    useConfigSource({});
    expect(probe.builds).toBe(0);
    expect(() => configFor(probe.schema)).toThrow(/LAZY_NEEDED is missing/);
    useConfigSource({ LAZY_NEEDED: "yes" });
    const config = configFor(probe.schema);
    expect(config.LAZY_NEEDED).toBe("yes");
    expect(configFor(probe.schema)).toBe(config);
    expect(probe.builds).toBe(1);
  });
});

describe("httpRoute with lazy schemas", () => {
  it("builds none at declaration, the request schemas once on the first invocation, never the response's", async () => {
    useConfigSource({ LOG_LEVEL: "SILENT" });
    const params = counted(() => z.object({ name: z.string().check(z.regex(/^[a-z]+$/, "must be lowercase letters")) }));
    const body = counted(() => z.object({ count: z.number() }));
    const response = counted(() => z.object({ name: z.string(), count: z.number() }));
    const handler = httpRoute(
      { method: "POST", path: "/lazy/{name}", summary: "test", auth: "public", params: params.schema, body: body.schema, responses: { 200: response.schema } },
      async (input) => ({ status: 200, body: { name: input.params.name, count: input.body.count } }),
    );
    expect([params.builds, body.builds, response.builds]).toEqual([0, 0, 0]);

    const ok = await handler(request("abc", { count: 2 }), context);
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body ?? "")).toEqual({ name: "abc", count: 2 });
    const bad = await handler(request("ABC", { count: "2" }), context);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/path\.name/);
    expect(bad.body).toMatch(/body\.count/);
    expect([params.builds, body.builds, response.builds]).toEqual([1, 1, 0]);
    // The OpenAPI generator is the one reader of response schemas.
    expect(handler.route.responses[200]).toBe(response.schema);
  });
});
