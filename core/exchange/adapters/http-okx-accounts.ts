import { createHmac } from "node:crypto";
import type { Clock } from "../../clock";
import { UnavailableError } from "../../errors";
import type { CredentialProblem, ExchangeAccount, ExchangeCredentials } from "../model";
import { CredentialsRejectedError } from "../ports";
import type { ExchangeAccounts, VerifyOptions } from "../ports";
import { okxAccountConfigSchema, okxEnvelopeSchema } from "../schemas";

export interface OkxOptions {
  /** e.g. https://www.okx.com (the local cloud runs a fake, local/fake-okx.ts). */
  readonly baseUrl: string;
  /** Upper bound of one call, whatever the caller's budget. */
  readonly timeoutMs: number;
  /** Sends `x-simulated-trading: 1`: the keys are demo-trading keys. */
  readonly simulatedTrading?: boolean;
}

export const OKX_ACCOUNT_CONFIG_PATH = "/api/v5/account/config";

export interface OkxSignatureInput {
  readonly secretKey: string;
  /** ISO 8601 with milliseconds, e.g. 2020-12-08T09:08:57.715Z: the OK-ACCESS-TIMESTAMP header. */
  readonly timestamp: string;
  readonly method: string;
  /** Path with its query string, e.g. /api/v5/account/balance?ccy=BTC */
  readonly requestPath: string;
  /** The request body as sent; empty for GET. */
  readonly body: string;
}

/** OK-ACCESS-SIGN: Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)), as OKX documents. */
export function signOkxRequest(input: OkxSignatureInput): string {
  return createHmac("sha256", input.secretKey).update(`${input.timestamp}${input.method.toUpperCase()}${input.requestPath}${input.body}`).digest("base64");
}

/** The four OK-ACCESS-* headers of a signed request. */
export function okxAuthHeaders(credentials: ExchangeCredentials, request: Omit<OkxSignatureInput, "secretKey">): Record<string, string> {
  return {
    "OK-ACCESS-KEY": credentials.apiKey,
    "OK-ACCESS-SIGN": signOkxRequest({ ...request, secretKey: credentials.secretKey }),
    "OK-ACCESS-TIMESTAMP": request.timestamp,
    "OK-ACCESS-PASSPHRASE": credentials.passphrase,
  };
}

/** OKX error codes that mean "these credentials are wrong" (the rest are the exchange's trouble). */
const CREDENTIAL_CODES: Readonly<Record<string, CredentialProblem>> = {
  "50102": "clock_skew",
  "50103": "unknown_key",
  "50104": "wrong_passphrase",
  "50105": "wrong_passphrase",
  "50106": "wrong_secret",
  "50111": "unknown_key",
  "50112": "clock_skew",
  "50113": "wrong_secret",
  "50119": "unknown_key",
  "50110": "not_permitted",
  "50120": "not_permitted",
  "50121": "not_permitted",
};

/** The account API of OKX (v5 REST), with a user's own keys. */
export class HttpOkxAccounts implements ExchangeAccounts {
  constructor(
    private readonly options: OkxOptions,
    private readonly clock: Clock,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** GET /api/v5/account/config, signed with the keys: it answers only for valid keys, with the uid. */
  async verify(credentials: ExchangeCredentials, options: VerifyOptions): Promise<ExchangeAccount> {
    const timestamp = this.clock.now().toISOString();
    const headers = {
      accept: "application/json",
      ...okxAuthHeaders(credentials, { timestamp, method: "GET", requestPath: OKX_ACCOUNT_CONFIG_PATH, body: "" }),
      ...(this.options.simulatedTrading ? { "x-simulated-trading": "1" } : {}),
    };
    const deadline = Math.max(1, Math.min(this.options.timeoutMs, options.deadlineMs));
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.options.baseUrl.replace(/\/$/, "")}${OKX_ACCOUNT_CONFIG_PATH}`, { headers, signal: AbortSignal.timeout(deadline) });
    } catch (error) {
      throw new UnavailableError(`OKX did not answer within ${deadline} ms`, { cause: error });
    }
    return accountFrom(response, await readEnvelope(response));
  }
}

async function readEnvelope(response: Response) {
  const text = await response.text().catch(() => "");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UnavailableError(`OKX answered ${response.status} without a JSON body`);
  }
  const envelope = okxEnvelopeSchema().safeParse(json);
  if (!envelope.success) throw new UnavailableError(`OKX answered ${response.status} with an unexpected body`);
  return envelope.data;
}

function accountFrom(response: Response, envelope: { code: string; msg: string; data: unknown[] }): ExchangeAccount {
  const problem = CREDENTIAL_CODES[envelope.code];
  if (problem) throw new CredentialsRejectedError(problem, `${envelope.code} ${envelope.msg}`);
  if (!response.ok || envelope.code !== "0") {
    throw new UnavailableError(`OKX answered ${response.status} code ${envelope.code}: ${envelope.msg}`, { retryAfterSeconds: response.status === 429 ? 2 : 1 });
  }
  const row = okxAccountConfigSchema().safeParse(envelope.data[0]);
  if (!row.success) throw new UnavailableError("OKX answered an account config without a uid");
  return {
    uid: row.data.uid,
    mainUid: row.data.mainUid || null,
    permissions: (row.data.perm ?? "").split(",").map((perm) => perm.trim()).filter(Boolean),
    label: row.data.label || null,
  };
}
