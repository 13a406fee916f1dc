import { randomUUID } from "node:crypto";

/** Time and identity sources, injected wherever behaviour depends on them. */
export interface Clock {
  now(): Date;
}
export interface IdGenerator {
  uuid(): string;
}

export const systemClock: Clock = { now: () => new Date() };
export const randomIds: IdGenerator = { uuid: () => randomUUID() };
