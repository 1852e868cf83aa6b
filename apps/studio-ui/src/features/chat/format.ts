// Money and counts as the chat panel and the admin dashboard show them. Amounts stay integer micro-credits
// until they are turned into text, so a balance that drops by a turn's cost shows exactly that drop.
import { MICRO_CREDITS_PER_CREDIT } from '@cyber/contract';

const DIGITS = String(MICRO_CREDITS_PER_CREDIT).length - 1;

/** `1234567` → `"1.234567"` credits, exact (integer arithmetic, no float rounding). */
export function formatCredits(microCredits: number): string {
  const sign = microCredits < 0 ? '-' : '';
  const abs = Math.abs(microCredits);
  const whole = Math.floor(abs / MICRO_CREDITS_PER_CREDIT);
  const fraction = String(abs % MICRO_CREDITS_PER_CREDIT).padStart(DIGITS, '0');
  return `${sign}${whole.toLocaleString('en-US')}.${fraction}`;
}

/** Parses a credits amount typed by a person (`"1.5"`, `"2"`) into micro-credits; undefined when invalid. */
export function parseCredits(text: string): number | undefined {
  const match = /^\s*(\d{1,9})(?:\.(\d{0,6}))?\s*$/.exec(text);
  if (match === null) return undefined;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(DIGITS, '0'));
  return whole * MICRO_CREDITS_PER_CREDIT + fraction;
}

/** `12345` → `"12,345"`. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** Bytes in binary units: `1536` → `"1.5 KiB"`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

/** Seconds as `"1 h 2 min"`, `"3 min 4 s"` or `"5 s"`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}
