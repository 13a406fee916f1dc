import type { ServerResponse } from "node:http";
import type { PubSubEvent, RedisBackend, Subscription } from "./redis-backend";

/**
 * SUBSCRIBE / PSUBSCRIBE as Upstash serves them: a `text/event-stream` response with one
 * `data: <kind>,<name>,...` line per event, open until the client goes away. @upstash/redis'
 * Subscriber reads exactly this: `subscribe,<channel>,<count>`, `message,<channel>,<message>`,
 * `psubscribe,<pattern>,<count>` and `pmessage,<pattern>,<channel>,<message>`.
 */
export async function streamSubscription(
  res: ServerResponse,
  backend: RedisBackend,
  kind: "channel" | "pattern",
  names: readonly string[],
): Promise<void> {
  // Events that arrive while subscribing wait until the stream's head is out (or the error is).
  const early: string[] = [];
  let write = (line: string): void => void early.push(line);
  let subscription: Subscription;
  try {
    subscription = await backend.subscribe(kind, names, (event) => write(eventLine(event)));
  } catch (error) {
    const body = JSON.stringify({ error: `ERR Redis backend failed: ${error instanceof Error ? error.message : String(error)}` });
    res.writeHead(502, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (res.destroyed) {
    await subscription.close();
    return;
  }
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
  write = (line) => void res.write(frame(line));
  for (const line of early) write(line);
  res.on("close", () => void subscription.close());
  void subscription.ended.then(() => res.end());
}

function eventLine(event: PubSubEvent): string {
  switch (event.type) {
    case "subscribe":
    case "psubscribe":
      return `${event.type},${event.name},${event.count}`;
    case "message":
      return `message,${event.channel},${event.message.toString("utf8")}`;
    case "pmessage":
      return `pmessage,${event.pattern},${event.channel},${event.message.toString("utf8")}`;
  }
}

/** One server-sent event; a message spanning lines becomes one `data:` line each, as the format requires. */
function frame(line: string): string {
  return `${line
    .split(/\r?\n/)
    .map((part) => `data: ${part}`)
    .join("\n")}\n\n`;
}
