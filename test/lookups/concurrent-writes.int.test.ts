import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, okxUid, telegramId, token } from "./support/http";
import type { ErrorBody, LookupBody, MappingBody } from "./support/http";

const WRITERS = 50;

let app: AppEnv;
let server: DevServer;
let admin: string;
let service: string;
const api = apiClient(() => server.url);

beforeAll(async () => {
  app = await useAppEnv();
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  admin = await token("admin");
  service = await token("service", "notifier");
});

afterAll(async () => {
  await server?.close();
  await app?.database.drop();
});

const put = (userId: string, body: unknown) => api<MappingBody | ErrorBody>("PUT", `/v1/admin/mappings/${userId}`, { token: admin, body });

/** Status -> how many answered it. */
function tally(statuses: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

async function all<T>(count: number, make: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => make(index)));
}

describe("concurrent PUTs of one new user", () => {
  it("create it once (201) and confirm it to everyone else (200), never 5xx", async () => {
    const userId = randomUUID();
    const body = { telegramId: telegramId(), okxUid: okxUid() };
    const responses = await all(WRITERS, () => put(userId, body));
    expect(tally(responses.map((response) => response.status))).toEqual({ 201: 1, 200: WRITERS - 1 });
    expect((await api<MappingBody>("GET", `/v1/admin/mappings/${userId}`, { token: admin })).body).toMatchObject({ ...body, isActive: true });
  });

  it("apply one after another when they disagree, the last one standing, never 5xx", async () => {
    const userId = randomUUID();
    const bodies = Array.from({ length: WRITERS }, () => ({ telegramId: telegramId(), okxUid: okxUid() }));
    const responses = await all(WRITERS, (index) => put(userId, bodies[index]));
    expect(tally(responses.map((response) => response.status))).toEqual({ 201: 1, 200: WRITERS - 1 });
    const stored = (await api<MappingBody>("GET", `/v1/admin/mappings/${userId}`, { token: admin })).body;
    expect(bodies).toContainEqual({ telegramId: stored.telegramId, okxUid: stored.okxUid });
  });
});

describe("one identifier claimed by many users at once", () => {
  it.each([
    ["telegramId", () => {
      const shared = telegramId();
      return () => ({ telegramId: shared, okxUid: okxUid() });
    }],
    ["okxUid", () => {
      const shared = okxUid();
      return () => ({ telegramId: telegramId(), okxUid: shared });
    }],
  ])("goes to exactly one of them (201); the others get 409 conflict (%s)", async (_field, claim) => {
    const body = claim();
    const responses = await all(WRITERS, () => put(randomUUID(), body()));
    expect(tally(responses.map((response) => response.status))).toEqual({ 201: 1, 409: WRITERS - 1 });
    for (const response of responses.filter((r) => r.status === 409)) expect((response.body as ErrorBody).error.code).toBe("conflict");
  });
});

describe("lookups during concurrent writes", () => {
  it("answer the old or the new state, never an error", async () => {
    const userId = randomUUID();
    const first = { telegramId: telegramId(), okxUid: okxUid() };
    expect((await put(userId, first)).status).toBe(201);
    const states = [first, ...Array.from({ length: 10 }, () => ({ telegramId: telegramId(), okxUid: first.okxUid }))];
    const writes = all(WRITERS, (index) => put(userId, states[1 + (index % 10)]));
    const lookups = all(WRITERS, (index) =>
      api<LookupBody>("GET", `/v1/lookups/${index % 2 === 0 ? first.okxUid : userId}`, { token: service }),
    );
    const [written, looked] = await Promise.all([writes, lookups]);
    expect(written.every((response) => response.status === 200)).toBe(true);
    for (const response of looked) {
      expect(response.status).toBe(200);
      expect(states.map((state) => state.telegramId)).toContain(response.body.telegramId);
      expect(response.body).toMatchObject({ userId, okxUid: first.okxUid });
    }
  });
});
