import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import * as z from "zod/mini";
import { lazy } from "../core/validation/lazy";
import type { RouteContract } from "../runtime/http/route";
import { platform } from "../runtime/platform";
import { telegram } from "../runtime/telegram";

/** Declared like every route (OpenAPI, the infra check); served by grammY's webhook adapter, not the HTTP stack. */
const contract: RouteContract = {
  method: "POST",
  path: "/telegram/webhook",
  summary:
    "Telegram's webhook: an Update, with the X-Telegram-Bot-Api-Secret-Token header. 200: handled, a duplicate or malformed (acknowledged); 401: wrong secret; 503: Telegram should redeliver",
  auth: "public",
  body: /* @__PURE__ */ lazy(() => z.looseObject({ update_id: z.number().check(z.int(), z.minimum(0)) })),
  responses: { 200: null, 401: null, 503: null },
};

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
let built: Handler | undefined;

/** Built on the first update (config, clients and bot once per container); importing it builds nothing. */
export const handler = Object.assign(
  (event: APIGatewayProxyEventV2, context: Context) => {
    built ??= middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
      .use(injectLambdaContext(platform().logger, { resetKeys: true }))
      .handler((request, lambdaContext) => telegram().webhook(request, lambdaContext));
    return built(event, context);
  },
  { route: contract },
);
