import { SingleBar } from "cli-progress";
import type { OpsIo } from "./command";

export interface PhaseProgress {
  readonly phase: string;
  readonly done: number;
  /** null while the total is not known yet (a stream being read). */
  readonly total: number | null;
}

export interface ProgressReporter {
  update(progress: PhaseProgress): void;
  stop(): void;
}

/** One cli-progress bar per phase on stderr when it is a terminal; nothing otherwise. */
export function progressBars(stream: OpsIo["stderr"], labels: Readonly<Record<string, string>> = {}): ProgressReporter {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  let phase: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    update: (progress) => {
      if (progress.phase !== phase) {
        stop();
        phase = progress.phase;
        const label = labels[progress.phase] ?? progress.phase;
        bar = new SingleBar({
          stream,
          format: progress.total === null ? `${label} {value} records` : `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          fps: 10,
        });
        bar.start(progress.total ?? 0, progress.done);
      }
      if (progress.total !== null && bar && bar.getTotal() !== progress.total) bar.setTotal(progress.total);
      bar?.update(progress.done);
    },
    stop,
  };
}

/**
 * Progress as plain lines when stderr is not a terminal (a log file, CI, `2>&1 | tee`): one when a
 * phase starts and then at most one per `intervalMs`, and the last state of a phase when it ends,
 * each with the rate so far, so a long run is visibly alive without flooding the log.
 */
export function progressLines(
  stream: OpsIo["stderr"],
  labels: Readonly<Record<string, string>> = {},
  intervalMs = 5_000,
  now: () => number = Date.now,
): ProgressReporter {
  let current: { phase: string; startedAt: number; lastLineAt: number; last: PhaseProgress; printed: PhaseProgress } | undefined;
  const line = (progress: PhaseProgress, startedAt: number) => {
    const label = (labels[progress.phase] ?? progress.phase).trim();
    const seconds = Math.max(0.001, (now() - startedAt) / 1000);
    const rate = Math.round(progress.done / seconds);
    const of = progress.total === null ? "" : ` of ${progress.total}${progress.total > 0 ? ` (${Math.floor((progress.done / progress.total) * 100)}%)` : ""}`;
    stream.write(`${label}: ${progress.done}${of}, ${rate}/s, ${seconds.toFixed(1)} s\n`);
  };
  const finish = () => {
    if (current && current.last !== current.printed) line(current.last, current.startedAt);
  };
  return {
    update: (progress) => {
      const at = now();
      if (progress.phase !== current?.phase) {
        finish();
        current = { phase: progress.phase, startedAt: at, lastLineAt: at, last: progress, printed: progress };
        line(progress, at);
        return;
      }
      current.last = progress;
      if (at - current.lastLineAt >= intervalMs) {
        current.lastLineAt = at;
        current.printed = progress;
        line(progress, current.startedAt);
      }
    },
    stop: () => {
      finish();
      current = undefined;
    },
  };
}
