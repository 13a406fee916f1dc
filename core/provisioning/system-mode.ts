import type { Clock } from "../clock";
import { UnavailableError, errorMessage } from "../errors";
import type { HealthRecorder } from "../health-events/record-health-event";
import type { LogPort } from "../observability/log-port";
import type { SystemMode } from "./model";
import type { ModeSnapshot, SystemModeCopy, SystemModeSetting, SystemModeStore } from "./ports";

export interface SystemModeReaderOptions {
  /** At most one look at the Redis copy per this many ms per container. */
  readonly checkIntervalMs: number;
  /** Lifetime of the Redis copy (refilled from Postgres by the first reader that misses it). */
  readonly copyTtlSeconds: number;
}

export interface SystemModeReaderDeps {
  readonly store: SystemModeStore;
  readonly copy: SystemModeCopy;
  readonly log: LogPort;
  /** Monotonic milliseconds (performance.now()), immune to wall-clock jumps. */
  readonly monotonicNow: () => number;
  readonly options: SystemModeReaderOptions;
}

/**
 * The system mode as this container sees it. Steady state costs nothing per request: the mode is
 * kept in memory and its version checked against the Redis copy at most once per interval, so a
 * flip is seen within the interval plus a round trip. Postgres (the truth) is read only when the
 * copy is missing or Redis fails; when both fail the last known mode holds.
 */
export class SystemModeReader {
  private known: ModeSnapshot | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<ModeSnapshot> | undefined;

  constructor(private readonly deps: SystemModeReaderDeps) {}

  async current(): Promise<SystemMode> {
    return (await this.snapshot()).mode;
  }

  async snapshot(): Promise<ModeSnapshot> {
    if (this.known && this.deps.monotonicNow() - this.checkedAt < this.deps.options.checkIntervalMs) return this.known;
    // One check in flight per container, however many requests arrive meanwhile.
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /** Takes a snapshot this container just wrote (a flip is seen here at once). */
  adopt(snapshot: ModeSnapshot): void {
    if (!this.known || snapshot.version >= this.known.version) this.known = snapshot;
    this.checkedAt = this.deps.monotonicNow();
  }

  private async check(): Promise<ModeSnapshot> {
    const fromCopy = await this.deps.copy.read().catch((error: unknown) => {
      this.deps.log.warn("system mode copy unreadable: asking Postgres", { reason: errorMessage(error) });
      return undefined;
    });
    const snapshot = fromCopy ?? (await this.fromStore(fromCopy === null));
    this.adopt(snapshot);
    return this.known ?? snapshot;
  }

  private async fromStore(refillCopy: boolean): Promise<ModeSnapshot> {
    try {
      const setting = await this.deps.store.read();
      const snapshot = { mode: setting.mode, version: setting.version };
      if (refillCopy) await this.deps.copy.write(snapshot, this.deps.options.copyTtlSeconds).catch(() => undefined);
      return snapshot;
    } catch (error) {
      if (this.known) {
        this.deps.log.error("system mode unreadable: keeping the last known mode", { mode: this.known.mode, reason: errorMessage(error) });
        return this.known;
      }
      throw new UnavailableError("system mode unreadable", { cause: error });
    }
  }
}

export interface SwitchModeDeps {
  readonly store: SystemModeStore;
  readonly copy: SystemModeCopy;
  readonly reader: SystemModeReader;
  readonly health: HealthRecorder;
  readonly clock: Clock;
  readonly log: LogPort;
  readonly copyTtlSeconds: number;
}

export interface SwitchModeInput {
  readonly mode: SystemMode;
  readonly reason: string;
  readonly actor: string;
}

/**
 * PUT /v1/admin/system-mode: Postgres first (the truth, version bumped), then the Redis copy every
 * container polls, then a SWITCH event that alerts the admin chat. Setting the mode in force
 * changes nothing. If the copy cannot be written, containers still see the flip once it lapses
 * (its TTL) and at once wherever Redis is down (they read Postgres); the write is not failed for it.
 */
export async function switchSystemMode(deps: SwitchModeDeps, input: SwitchModeInput): Promise<{ readonly setting: SystemModeSetting; readonly changed: boolean }> {
  const { setting, previous, changed } = await deps.store.change({ ...input, now: deps.clock.now() });
  if (!changed) return { setting, changed };
  const snapshot = { mode: setting.mode, version: setting.version };
  deps.reader.adopt(snapshot);
  try {
    await deps.copy.write(snapshot, deps.copyTtlSeconds);
  } catch (error) {
    deps.log.error("system mode switched but its Redis copy was not updated: containers see it when the copy lapses", {
      version: setting.version,
      reason: errorMessage(error),
    });
  }
  await deps.health({
    level: "SWITCH",
    message: `System mode switched from ${previous.mode} to ${setting.mode} (version ${setting.version})`,
    metadata: { by: input.actor, reason: input.reason, from: previous.mode, to: setting.mode, version: setting.version },
  });
  return { setting, changed };
}
