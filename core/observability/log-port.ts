/** The slice of a structured logger the core uses; Powertools' Logger satisfies it. */
export interface LogPort {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

export const silentLog: LogPort = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
