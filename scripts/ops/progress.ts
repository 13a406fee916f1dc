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
