// Formatting of times, addresses and amounts for display.

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

/** "in 3 hours", "5 minutes ago" for a Unix time in seconds. */
export function relativeTime(unixSeconds: number, nowMs = Date.now()): string {
  const delta = unixSeconds - Math.round(nowMs / 1000);
  for (const [unit, seconds] of UNITS) {
    if (Math.abs(delta) >= seconds || unit === 'second') {
      return relative.format(Math.round(delta / seconds), unit);
    }
  }
  return '';
}

/** The local date and time of a Unix time in seconds. */
export function absoluteTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: 'medium',
  });
}

/** ISO 8601 (for `<time dateTime>`) of a Unix time in seconds. */
export function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}

/** 0x1234…abcd */
export function shortHex(hex: string, keep = 6): string {
  return hex.length <= 2 + keep * 2 + 1 ? hex : `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}`;
}
