import { Logger } from "@aws-lambda-powertools/logger";

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const SECRET_KEY = /(authorization|password|passphrase|secret|token|api_?key|apikey|private_?key|cookie|encryption)/i;

export const REDACTED = "[redacted]";

export function redactSecrets(key: string, value: unknown): unknown {
  if (key !== "" && SECRET_KEY.test(key) && value !== null && value !== undefined) return REDACTED;
  return value;
}

export interface LoggerSettings {
  readonly serviceName: string;
  readonly level: "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";
}

/** Structured JSON logs (Powertools), with secrets redacted at serialisation time. */
export function createLogger(settings: LoggerSettings): Logger {
  return new Logger({
    serviceName: settings.serviceName,
    logLevel: settings.level,
    jsonReplacerFn: redactSecrets,
  });
}
