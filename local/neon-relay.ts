import type { Socket } from "node:net";
import { createRequire } from "node:module";
import type { RawData, WebSocket } from "ws";

/**
 * The WebSocket-to-Postgres relay behind `/v2?address=host:port`, speaking to the driver as Neon's
 * proxy does: it asks the client for a cleartext password (AuthenticationCleartextPassword) and
 * authenticates to Postgres itself (trust, cleartext, MD5 or SCRAM-SHA-256), so the driver's
 * pipelined connect (`pipelineConnect: "password"`, its default: startup, password and first
 * query sent at once) works. After authentication, bytes pass through untouched.
 */
export function relay(ws: WebSocket, tcp: Socket): void {
  const session = new RelaySession(ws, tcp);
  ws.on("message", (data: RawData) => session.fromClient(toBuffer(data)));
  tcp.on("data", (chunk: Buffer) => session.fromServer(chunk));
  tcp.on("drain", () => ws.resume());
  // Half-close: Postgres still reads a Terminate message that is in flight, then sees EOF.
  ws.on("close", () => tcp.end());
  ws.on("error", () => tcp.destroy());
  tcp.on("error", (error) => {
    if (ws.readyState === ws.OPEN) ws.close(1011, error.message.slice(0, 120));
  });
  tcp.on("close", () => {
    if (ws.readyState === ws.OPEN) ws.close(1000);
    else if (ws.readyState !== ws.CLOSED) ws.terminate();
  });
}

/** Neon computes run in UTC; WebSocket sessions get the same default as /sql ones. */
const UTC_OPTION = "-c TimeZone=UTC";
const WS_HIGH_WATER = 1024 * 1024;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const MAX_STARTUP_BYTES = 10_000;

const AUTH_OK = 0;
const AUTH_CLEARTEXT = 3;
const AUTH_MD5 = 5;
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;
const AUTH_SASL_FINAL = 12;

interface SaslSession {
  readonly mechanism: string;
  readonly response: string;
}
interface PgSasl {
  startSession(mechanisms: string[], stream: undefined): SaslSession;
  continueSession(session: SaslSession, password: string, serverData: string, stream: undefined): Promise<void>;
  finalizeSession(session: SaslSession, serverData: string): void;
}
interface PgCryptoUtils {
  postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string>;
}
// node-postgres' own SCRAM and MD5 code (exported subpaths of the pg package), not a copy of it.
const requirePg = createRequire(import.meta.url);
const sasl = requirePg("pg/lib/crypto/sasl") as PgSasl;
const cryptoUtils = requirePg("pg/lib/crypto/utils") as PgCryptoUtils;

type Phase = "startup" | "authenticating" | "open";

class RelaySession {
  private phase: Phase = "startup";
  private client = Buffer.alloc(0);
  private server = Buffer.alloc(0);
  private user = "";
  private password: string | undefined;
  private passwordAsked = false;
  private sasl: SaslSession | undefined;
  /** Server messages are handled one at a time: SCRAM proofs are computed asynchronously. */
  private serverQueue: Promise<void> = Promise.resolve();
  private waitingForPassword: (() => void) | undefined;
  /** A pipelined password the server never asked for (trust) must not reach it after authentication. */
  private dropPasswordMessage = true;

  constructor(
    private readonly ws: WebSocket,
    private readonly tcp: Socket,
  ) {}

  fromClient(bytes: Buffer): void {
    if (this.phase === "open") return this.forwardToServer(bytes);
    this.client = Buffer.concat([this.client, bytes]);
    if (this.phase === "startup") this.readStartup();
    else this.takePassword();
  }

  fromServer(chunk: Buffer): void {
    if (this.phase === "open") return this.forwardToClient(chunk);
    this.server = Buffer.concat([this.server, chunk]);
    this.serverQueue = this.serverQueue.then(() => this.readServerAuth()).catch((error: unknown) => this.fail(error));
  }

  private readStartup(): void {
    while (this.phase === "startup" && this.client.length >= 8) {
      const length = this.client.readInt32BE(0);
      if (length < 8 || length > MAX_STARTUP_BYTES) return this.fail(new Error("malformed startup packet"));
      if (this.client.length < length) return;
      const message = this.client.subarray(0, length);
      this.client = this.client.subarray(length);
      const code = message.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        // No TLS behind the relay (the WebSocket may carry it): answer as a server without it does.
        this.ws.send(Buffer.from("N"));
      } else if (code === CANCEL_REQUEST) {
        this.open(message);
      } else {
        this.user = startupParameter(message, "user") ?? "";
        this.phase = "authenticating";
        this.tcp.write(code >>> 16 === 3 ? (withUtcOption(message) ?? message) : message);
        this.takePassword();
      }
    }
  }

  /** The client's PasswordMessage, pipelined or sent after we asked for it. */
  private takePassword(): void {
    if (this.password !== undefined || this.client.length < 5 || this.client[0] !== 0x70) return;
    const length = this.client.readInt32BE(1);
    if (this.client.length < 1 + length) return;
    const body = this.client.subarray(5, 1 + length);
    this.password = body.subarray(0, Math.max(0, body.indexOf(0))).toString("utf8");
    this.client = this.client.subarray(1 + length);
    this.dropPasswordMessage = false;
    this.waitingForPassword?.();
  }

  private async readServerAuth(): Promise<void> {
    while (this.phase === "authenticating" && this.server.length >= 5) {
      const length = this.server.readInt32BE(1);
      if (this.server.length < 1 + length) return;
      const message = this.server.subarray(0, 1 + length);
      const type = String.fromCharCode(message[0]!);
      if (type === "R") {
        const code = message.readInt32BE(5);
        if (code === AUTH_OK) return this.authenticated();
        this.server = this.server.subarray(1 + length);
        await this.answerAuthRequest(code, message.subarray(9));
      } else {
        // ErrorResponse (bad password, no such database), notices: the client reads them as from Postgres.
        this.server = this.server.subarray(1 + length);
        this.ws.send(message);
        if (type === "E") this.tcp.end();
      }
    }
  }

  private async answerAuthRequest(code: number, data: Buffer): Promise<void> {
    if (code === AUTH_SASL_FINAL) return sasl.finalizeSession(this.requireSasl(), data.toString("utf8"));
    const password = await this.clientPassword();
    if (code === AUTH_CLEARTEXT) return void this.tcp.write(passwordMessage(Buffer.from(`${password}\0`)));
    if (code === AUTH_MD5) {
      const hashed = await cryptoUtils.postgresMd5PasswordHash(this.user, password, data.subarray(0, 4));
      return void this.tcp.write(passwordMessage(Buffer.from(`${hashed}\0`)));
    }
    if (code === AUTH_SASL) {
      const mechanisms = data.toString("utf8").split("\0").filter(Boolean);
      this.sasl = sasl.startSession(mechanisms, undefined);
      return void this.tcp.write(saslInitialResponse(this.sasl));
    }
    if (code === AUTH_SASL_CONTINUE) {
      const session = this.requireSasl();
      await sasl.continueSession(session, password, data.toString("utf8"), undefined);
      return void this.tcp.write(passwordMessage(Buffer.from(session.response, "utf8")));
    }
    throw new Error(`the local relay does not support Postgres authentication method ${code}`);
  }

  private requireSasl(): SaslSession {
    if (!this.sasl) throw new Error("SASL message before SASL started");
    return this.sasl;
  }

  /** The password the client pipelined, or the one it sends when asked as Neon's proxy asks. */
  private clientPassword(): Promise<string> {
    if (this.password !== undefined) return Promise.resolve(this.password);
    if (!this.passwordAsked) {
      this.passwordAsked = true;
      this.ws.send(authenticationRequest(AUTH_CLEARTEXT));
    }
    return new Promise((resolve) => {
      this.waitingForPassword = () => resolve(this.password ?? "");
    });
  }

  /** AuthenticationOk and all that follows go to the client; what it queued behind its password goes to Postgres. */
  private authenticated(): void {
    const rest = this.server;
    this.server = Buffer.alloc(0);
    this.phase = "open";
    this.forwardToClient(rest);
    const queued = this.client;
    this.client = Buffer.alloc(0);
    if (queued.length > 0) this.forwardToServer(queued);
  }

  private open(first: Buffer): void {
    this.phase = "open";
    this.dropPasswordMessage = false;
    this.forwardToServer(Buffer.concat([first, this.client]));
    this.client = Buffer.alloc(0);
  }

  private forwardToServer(bytes: Buffer): void {
    let out = bytes;
    if (this.dropPasswordMessage && out.length > 0) {
      this.dropPasswordMessage = false;
      // A PasswordMessage is never valid after authentication: it is the pipelined one trust did not need.
      if (out[0] === 0x70 && out.length >= 5) out = out.subarray(1 + out.readInt32BE(1));
    }
    if (out.length > 0 && !this.tcp.write(out)) this.ws.pause();
  }

  private forwardToClient(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.ws.send(chunk, { binary: true }, () => {
      if (this.tcp.isPaused() && this.ws.bufferedAmount < WS_HIGH_WATER / 2) this.tcp.resume();
    });
    if (this.ws.bufferedAmount > WS_HIGH_WATER) this.tcp.pause();
  }

  private fail(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1011, message.slice(0, 120));
    this.tcp.destroy();
  }
}

function startupParameter(message: Buffer, name: string): string | undefined {
  const parts = message.subarray(8).toString("utf8").split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] === name) return parts[i + 1];
  return undefined;
}

/**
 * Prepends `-c TimeZone=UTC` to the startup `options`; settings the client makes itself still win,
 * because later -c options and explicit startup parameters override earlier ones.
 */
function withUtcOption(message: Buffer): Buffer | undefined {
  const params: [string, string][] = [];
  let offset = 8;
  while (offset < message.length && message[offset] !== 0) {
    const keyEnd = message.indexOf(0, offset);
    if (keyEnd < 0) return undefined;
    const valueEnd = message.indexOf(0, keyEnd + 1);
    if (valueEnd < 0) return undefined;
    params.push([message.toString("utf8", offset, keyEnd), message.toString("utf8", keyEnd + 1, valueEnd)]);
    offset = valueEnd + 1;
  }
  if (offset !== message.length - 1) return undefined;

  const existing = params.find(([key]) => key === "options");
  if (existing) existing[1] = `${UTC_OPTION} ${existing[1]}`;
  else params.push(["options", UTC_OPTION]);

  const body = Buffer.from(`${params.map(([key, value]) => `${key}\0${value}\0`).join("")}\0`, "utf8");
  const rewritten = Buffer.alloc(8 + body.length);
  rewritten.writeInt32BE(rewritten.length, 0);
  message.copy(rewritten, 4, 4, 8);
  body.copy(rewritten, 8);
  return rewritten;
}

function typedMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

function passwordMessage(body: Buffer): Buffer {
  return typedMessage("p", body);
}

function saslInitialResponse(session: SaslSession): Buffer {
  const response = Buffer.from(session.response, "utf8");
  const length = Buffer.alloc(4);
  length.writeInt32BE(response.length, 0);
  return typedMessage("p", Buffer.concat([Buffer.from(`${session.mechanism}\0`, "utf8"), length, response]));
}

function authenticationRequest(code: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32BE(code, 0);
  return typedMessage("R", body);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
