/**
 * Calendar days in a timezone, as instants: the weekly report's days are the operator's local
 * days (or `schedule.timezone`'s), and a day with a daylight-saving change is 23 or 25 hours.
 */

/** The machine's own timezone, when the config names none. */
export function localTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** `YYYY-MM-DD` of an instant in `timezone`. */
export function dayOf(ms: number, timezone: string): string {
  return new Date(ms).toLocaleDateString('sv', { timeZone: timezone });
}

/** Milliseconds `timezone` is ahead of UTC at the instant `ms`. */
function offsetMs(ms: number, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant a local day (`YYYY-MM-DD`) starts in `timezone`. */
export function startOfDay(day: string, timezone: string): number {
  const [y, m, d] = day.split('-').map(Number);
  const midnightUtc = Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1);
  // Twice: the offset at the first guess may be the other side of a change.
  let ms = midnightUtc - offsetMs(midnightUtc, timezone);
  ms = midnightUtc - offsetMs(ms, timezone);
  return ms;
}

/** The day after `day` (`YYYY-MM-DD`). */
export function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + 1)).toISOString().slice(0, 10);
}

/** The `count` days ending with `lastDay`, each with its start and end instants. */
export function daysEnding(lastDay: string, count: number, timezone: string): Array<{ day: string; fromMs: number; toMs: number }> {
  const days: string[] = [lastDay];
  for (let i = 1; i < count; i++) {
    const [y, m, d] = lastDay.split('-').map(Number);
    days.unshift(new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) - i)).toISOString().slice(0, 10));
  }
  return days.map((day) => ({ day, fromMs: startOfDay(day, timezone), toMs: startOfDay(nextDay(day), timezone) }));
}
