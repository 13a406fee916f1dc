import type { TestProject } from "vitest/node";

// Temporary: replaced by the local cloud once local/backing.ts exists.
export default function setup(project: TestProject) {
  project.provide("backing", {
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  });
}
