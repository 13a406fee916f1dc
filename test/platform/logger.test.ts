import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, REDACTED, redactSecrets } from "../../core/observability/logger";

afterEach(() => vi.restoreAllMocks());

describe("structured logs", () => {
  it("redacts secrets wherever they appear", () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const logger = createLogger({ serviceName: "botstate-test", level: "INFO" });
    logger.info("registering", {
      requestId: "req-1",
      credentials: { apiKey: "AK-123", secretKey: "S-456", passphrase: "P-789" },
      headers: { authorization: "Bearer eyJ.secret" },
      okxUid: "518796558012178692",
    });
    const output = lines.join("");
    expect(output).toContain('"requestId":"req-1"');
    expect(output).toContain("518796558012178692");
    for (const secret of ["AK-123", "S-456", "P-789", "eyJ.secret"]) expect(output).not.toContain(secret);
    expect(JSON.parse(output.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ message: "registering", service: "botstate-test" });
  });

  it("keeps ordinary keys and empty values", () => {
    expect(redactSecrets("telegramId", 42)).toBe(42);
    expect(redactSecrets("token", null)).toBeNull();
    expect(redactSecrets("accessToken", "abc")).toBe(REDACTED);
  });
});
