/*
 * A transcript's documents, built in the page from its segments: plain text,
 * SubRip, WebVTT and JSON (OpenAI's verbose_json shape, trimmed to what the
 * page has).
 */

export interface Segment {
  readonly id: number;
  readonly text: string;
  /** Seconds; undefined until known. */
  readonly start?: number;
  readonly end?: number;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** hh:mm:ss,mmm (SubRip) or hh:mm:ss.mmm (WebVTT). */
export const clock = (seconds: number, separator: ',' | '.'): string => {
  const ms = Math.max(0, Math.round(seconds * 1000));
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
};

/** m:ss.s, short, for the page's list. */
export const shortClock = (seconds: number): string => {
  const tenths = Math.round(seconds * 10);
  return `${Math.floor(tenths / 600)}:${pad(Math.floor(tenths / 10) % 60)}.${tenths % 10}`;
};

export const toText = (segments: readonly Segment[]): string => segments.map((s) => s.text.trim()).filter(Boolean).join(' ');

export const toSrt = (segments: readonly Segment[]): string =>
  segments.map((s, i) => `${i + 1}\n${clock(s.start ?? 0, ',')} --> ${clock(s.end ?? s.start ?? 0, ',')}\n${s.text.trim()}\n`).join('\n');

export const toVtt = (segments: readonly Segment[]): string =>
  `WEBVTT\n\n${segments.map((s) => `${clock(s.start ?? 0, '.')} --> ${clock(s.end ?? s.start ?? 0, '.')}\n${s.text.trim()}\n`).join('\n')}`;

export const toJson = (segments: readonly Segment[], extra: { readonly model?: string; readonly duration?: number; readonly language?: string }): string =>
  JSON.stringify(
    {
      task: 'transcribe',
      ...(extra.language ? { language: extra.language } : {}),
      ...(extra.duration !== undefined ? { duration: extra.duration } : {}),
      ...(extra.model ? { model: extra.model } : {}),
      text: toText(segments),
      segments: segments.map((s) => ({ id: s.id, start: s.start ?? null, end: s.end ?? null, text: s.text.trim() })),
    },
    null,
    2,
  );
