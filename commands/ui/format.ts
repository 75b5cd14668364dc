import { formatBytes } from '../../src/text/bytes.js';

export { formatBytes };

/** A rate in bytes per second: `12.3 MB/s`. */
export const formatSpeed = (bytesPerSecond: number): string => `${formatBytes(Math.round(bytesPerSecond))}/s`;

/** Seconds as `42s`, `3m 05s` or `1h 02m`. */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

/** When a loaded model will be unloaded, as a short phrase: `forever`, `now`, `in 4m 10s`. */
export const formatExpiry = (expiresAt: Date | null, now = Date.now()): string => {
  if (!expiresAt) return 'forever';
  const seconds = (expiresAt.getTime() - now) / 1000;
  return seconds <= 0 ? 'now' : `in ${formatDuration(seconds)}`;
};

/** How long ago an ISO date was: `just now`, `5 minutes ago`, `3 days ago`. */
export const formatAgo = (iso: string, now = Date.now()): string => {
  const seconds = (now - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return 'just now';
  const steps: [number, string][] = [[31_536_000, 'year'], [2_592_000, 'month'], [86_400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, unit] of steps) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
    }
  }
  return 'just now';
};

/** Left-aligned columns separated by two spaces, with a header row; trailing spaces trimmed. */
export const formatTable = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
};

/**
 * A reply's speed and size: `12.3 tokens/s · 42 tokens`, or `1 token` alone
 * when the rate cannot be measured (one token, or no timing).
 */
export const formatTokenStats = (tokensPerSecond: number, tokens: number): string => {
  const count = `${tokens} ${tokens === 1 ? 'token' : 'tokens'}`;
  return tokens > 1 && Number.isFinite(tokensPerSecond) && tokensPerSecond > 0 ? `${tokensPerSecond.toFixed(1)} tokens/s · ${count}` : count;
};
