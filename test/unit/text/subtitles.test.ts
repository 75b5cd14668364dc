import { describe, expect, it } from 'vitest';
import type { TranscriptSegment } from '../../../src/types/transcript.js';
import { formatTimestamp, toSrt, toVtt } from '../../../src/text/subtitles.js';

const segments: TranscriptSegment[] = [
  { id: 0, start: 1.5, end: 4.25, text: 'Hello there.' },
  { id: 1, start: 61.0004, end: 3725.9996, text: 'A long one\n\nwith a blank line --> inside' },
];

const SRT_CUE = /^(\d+)\n(\d{2}:\d{2}:\d{2},\d{3}) --> (\d{2}:\d{2}:\d{2},\d{3})\n((?:.+\n)+)$/;
const VTT_CUE = /^(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})\n((?:.+\n)+)$/;

describe('subtitle timestamps', () => {
  it('writes hours, minutes, seconds and milliseconds with the format separator', () => {
    expect(formatTimestamp(1.5, ',')).toBe('00:00:01,500');
    expect(formatTimestamp(1.5, '.')).toBe('00:00:01.500');
    expect(formatTimestamp(3725.9996, ',')).toBe('01:02:06,000');
    expect(formatTimestamp(0.0004, '.')).toBe('00:00:00.000');
    expect(formatTimestamp(-1, ',')).toBe('00:00:00,000');
    expect(formatTimestamp(100 * 3600 + 0.007, ',')).toBe('100:00:00,007');
  });
});

describe('SubRip', () => {
  it('numbers cues from 1, separates them by one blank line and keeps no blank line inside a cue', () => {
    const srt = toSrt(segments);
    const cues = srt.split('\n\n');
    expect(cues).toHaveLength(2);
    cues.forEach((cue, i) => {
      const block = i < cues.length - 1 ? `${cue}\n` : cue;
      const match = SRT_CUE.exec(block);
      expect(match, block).not.toBeNull();
      expect(Number(match![1])).toBe(i + 1);
    });
    expect(srt.startsWith('1\n00:00:01,500 --> 00:00:04,250\nHello there.\n')).toBe(true);
    expect(srt).toContain('2\n00:01:01,000 --> 01:02:06,000\nA long one\nwith a blank line --> inside\n');
  });

  it('is empty for no segments', () => {
    expect(toSrt([])).toBe('');
  });
});

describe('WebVTT', () => {
  it('starts with the WEBVTT header and a blank line, with dotted cue times and no numbering', () => {
    const vtt = toVtt(segments);
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    const cues = vtt.slice('WEBVTT\n\n'.length).split('\n\n');
    expect(cues).toHaveLength(2);
    cues.forEach((cue, i) => expect(VTT_CUE.test(i < cues.length - 1 ? `${cue}\n` : cue), cue).toBe(true));
    expect(vtt).toContain('00:00:01.500 --> 00:00:04.250\nHello there.\n');
    // An arrow inside cue text would read as a timing line.
    expect(vtt).toContain('with a blank line -> inside');
  });

  it('is just the header for no segments', () => {
    expect(toVtt([])).toBe('WEBVTT\n\n');
  });
});
