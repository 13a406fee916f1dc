import { Logger } from "@aws-lambda-powertools/logger";

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const SECRET_KEY = /(authorization|password|passphrase|secret|token|api_?key|apikey|private_?key|cookie|encryption)/i;

export const REDACTED = "[redacted]";

export function redactSecrets(key: string, value: unknown): unknown {
  if (key !== "" && SECRET_KEY.test(key) && value !== null && value !== undefined) return REDACTED;
  return value;
}

export interface LoggerOptions {
  readonly serviceName: string;
  readonly level: "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";
}

/** Structured JSON logs (Powertools), with secrets redacted at serialisation time. */
export function createLogger(options: LoggerOptions): Logger {
  return new Logger({
    serviceName: options.serviceName,
    logLevel: options.level,
    jsonReplacerFn: redactSecrets,
  });
}
