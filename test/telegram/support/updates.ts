import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { freshUpdateId } from "../../../local/telegram-updates";

export { callbackUpdate, editedUpdate, freshMessageId, freshUpdateId, groupUpdate, stickerUpdate, DEFAULT_SENDER, textUpdate } from "../../../local/telegram-updates";
export type { MessageOptions, Sender } from "../../../local/telegram-updates";

/** What API Gateway (payload 2.0) hands the function for Telegram's POST. */
export function webhookEvent(body: unknown, secret: string | undefined): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /telegram/webhook",
    rawPath: "/telegram/webhook",
    rawQueryString: "",
    headers: { "content-type": "application/json", ...(secret === undefined ? {} : { "x-telegram-bot-api-secret-token": secret }) },
    requestContext: {
      accountId: "000000000000",
      apiId: "test",
      domainName: "test",
      domainPrefix: "test",
      http: { method: "POST", path: "/telegram/webhook", protocol: "HTTP/1.1", sourceIp: "91.108.6.1", userAgent: "" },
      requestId: `r${freshUpdateId()}`,
      routeKey: "POST /telegram/webhook",
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

export function lambdaContext(remainingMs = 10_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "telegram-webhook",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:telegram-webhook",
    memoryLimitInMB: "512",
    awsRequestId: `a${freshUpdateId()}`,
    logGroupName: "/aws/lambda/telegram-webhook",
    logStreamName: "test",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
