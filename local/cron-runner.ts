import { CronExpressionParser } from "cron-parser";
import { invokeFunction } from "./lambda-runtime";
import type { CronDecl } from "./sst-manifest";

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Milliseconds until the next run of an EventBridge schedule: `rate(5 minutes)` or `cron(...)`. */
export function nextDelayMs(schedule: string, now: Date): number {
  const rate = /^rate\((\d+)\s+(minute|hour|day)s?\)$/.exec(schedule.trim());
  if (rate?.[1] && rate[2]) return Number(rate[1]) * UNIT_MS[rate[2] as keyof typeof UNIT_MS];
  const cron = /^cron\((.+)\)$/.exec(schedule.trim());
  if (!cron?.[1]) throw new Error(`unsupported schedule expression: ${schedule}`);
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`EventBridge cron needs 6 fields: ${schedule}`);
  // EventBridge: minutes hours day-of-month month day-of-week(1=SUN) year; cron-parser: 5 fields, 0=SUN.
  const [minutes, hours, dayOfMonth, month, dayOfWeek] = fields.map((field) => field.replace("?", "*"));
  const weekday = (dayOfWeek ?? "*").replace(/\d/g, (digit) => String((Number(digit) + 6) % 7));
  const expression = CronExpressionParser.parse(`${minutes} ${hours} ${dayOfMonth} ${month} ${weekday}`, {
    currentDate: now,
    tz: "UTC",
  });
  return expression.next().getTime() - now.getTime();
}

export interface CronRunner {
  stop(): void;
}

/** Invokes each cron function on its schedule with an EventBridge-shaped event; runs never overlap. */
export function startCronRunner(crons: readonly CronDecl[], log?: (line: string) => void): CronRunner {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const schedule = (cron: CronDecl) => {
    if (stopped) return;
    const timer = setTimeout(async () => {
      timers.delete(timer);
      const time = new Date();
      try {
        await invokeFunction(cron.function, {
          version: "0",
          id: crypto.randomUUID(),
          "detail-type": "Scheduled Event",
          source: "aws.events",
          account: "000000000000",
          time: time.toISOString(),
          region: "local",
          resources: [`arn:aws:events:local:000000000000:rule/${cron.name}`],
          detail: {},
        });
        log?.(`[cron ${cron.name}] ran`);
      } catch (error) {
        log?.(`[cron ${cron.name}] failed: ${(error as Error).message}`);
      }
      schedule(cron);
    }, nextDelayMs(cron.schedule, new Date()));
    timers.add(timer);
  };
  crons.forEach(schedule);
  return {
    stop: () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
