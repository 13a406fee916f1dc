import { vi } from "vitest";

/**
 * Collects into `lines` the JSON log lines the process writes, instead of printing them: Powertools
 * writes DEBUG and INFO to stdout, WARN and ERROR to stderr. vi.restoreAllMocks() ends it.
 */
export function captureJsonLogLines(lines: string[]): void {
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split("\n").filter((line) => line.startsWith("{")));
      return true;
    });
  }
}
