import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import type { FunctionDecl } from "./sst-manifest";

type LambdaFunction = (event: unknown, context: Context) => Promise<unknown>;

const modules = new Map<string, Promise<Record<string, unknown>>>();

/** Imports a handler module once, as Lambda would per container. */
export async function loadHandler(fn: FunctionDecl): Promise<LambdaFunction> {
  let loading = modules.get(fn.handler.file);
  if (!loading) {
    loading = import(pathToFileURL(fn.handler.file).href) as Promise<Record<string, unknown>>;
    modules.set(fn.handler.file, loading);
  }
  const exported = (await loading)[fn.handler.exportName];
  if (typeof exported !== "function") {
    throw new Error(`${fn.handler.spec}: ${fn.handler.file} does not export a function '${fn.handler.exportName}'`);
  }
  return exported as LambdaFunction;
}

export class InvocationTimeoutError extends Error {}

/** Runs a handler with a Lambda-shaped context and the function's timeout enforced. */
export async function invokeFunction(fn: FunctionDecl, event: unknown): Promise<unknown> {
  const handler = await loadHandler(fn);
  const timeoutMs = fn.timeoutSeconds * 1000;
  const deadline = Date.now() + timeoutMs;
  const name = fn.handler.spec.replace(/[^A-Za-z0-9-_]/g, "-");
  const context: Context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      handler(event, context),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new InvocationTimeoutError(`${fn.handler.spec} timed out after ${fn.timeoutSeconds}s`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
