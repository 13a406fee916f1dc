import { connect } from "node:net";

export interface RawReply {
  /** 0 when the server closed the connection without a status line. */
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/**
 * Sends bytes as they are over a fresh TCP connection (fetch would refuse or fix what the tests
 * need to send broken) and reads until the server closes, or until one whole response arrived.
 */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(parse(Buffer.concat(chunks).toString("latin1")));
    };
    socket.setTimeout(timeoutMs, done);
    socket.once("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (complete(Buffer.concat(chunks).toString("latin1"))) done();
    });
    socket.once("error", done);
    socket.once("close", done);
  });
}

/** Interim responses (100 Continue) precede the one that counts. */
function withoutInterim(text: string): string {
  let rest = text;
  while (/^HTTP\/1\.[01] 1\d\d /.test(rest) && rest.includes("\r\n\r\n")) rest = rest.slice(rest.indexOf("\r\n\r\n") + 4);
  return rest;
}

function parse(raw: string): RawReply {
  const text = withoutInterim(raw);
  const headEnd = text.indexOf("\r\n\r\n");
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, head, body: headEnd < 0 ? "" : text.slice(headEnd + 4) };
}

function complete(raw: string): boolean {
  const text = withoutInterim(raw);
  if (/^HTTP\/1\.[01] 1\d\d /.test(text)) return false;
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd))?.[1];
  if (length !== undefined) return text.length - headEnd - 4 >= Number(length);
  return /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, headEnd)) ? text.endsWith("0\r\n\r\n") : false;
}
