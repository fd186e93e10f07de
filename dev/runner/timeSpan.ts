/**
 * Parses the duration forms host.json accepts: a .NET TimeSpan string ("hh:mm:ss", "hh:mm:ss.fffffff", "d.hh:mm:ss",
 * "hh:mm", or a bare "d" meaning days, as TimeSpan.Parse reads it) or a number, which older host.json docs use for
 * milliseconds.
 */
const TIME_SPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;
const DAYS_ONLY = /^\d+$/;

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const MS_PER_DAY = 24 * MS_PER_HOUR;

export function parseDurationInMs(value: unknown, settingName: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`${settingName}: ${value} is not a valid duration.`);
    return value;
  }
  if (typeof value !== 'string') {
    throw new TypeError(`${settingName}: expected a TimeSpan string like "00:00:02", got ${JSON.stringify(value)}.`);
  }
  const text = value.trim();
  if (DAYS_ONLY.test(text)) return Number(text) * MS_PER_DAY;
  const match = TIME_SPAN.exec(text);
  if (!match) throw new TypeError(`${settingName}: "${value}" is not a TimeSpan ("hh:mm:ss" or "d.hh:mm:ss.fff").`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = ''] = match;
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) {
    throw new TypeError(`${settingName}: "${value}" has a component out of range.`);
  }
  // Seven fraction digits are 100 ns ticks; keep millisecond precision.
  const fractionMs = fraction ? Number(`0.${fraction}`) * MS_PER_SECOND : 0;
  return (
    Number(days) * MS_PER_DAY +
    Number(hours) * MS_PER_HOUR +
    Number(minutes) * MS_PER_MINUTE +
    Number(seconds) * MS_PER_SECOND +
    Math.round(fractionMs)
  );
}
