import { describe, expect, it } from 'vitest';
import { fitTable, type FitColumn } from '../../../commands/ui/fit-table.js';

const columns: FitColumn[] = [
  { header: 'NAME' },
  { header: 'KIND' },
  { header: 'ALIASES', minWidth: 8, dropRank: 1 },
  { header: 'DESCRIPTION', minWidth: 12, dropRank: 2 },
];
const rows = [
  ['whisper-tiny.en', 'asr', 'whisper, whisper-tiny-en', 'OpenAI Whisper tiny.en (English only), int8 and fp32 ONNX via sherpa-onnx.'],
  ['silero-vad', 'vad', 'silero, vad', 'Silero VAD v5.'],
];
const widest = (text: string) => Math.max(...text.trimEnd().split('\n').map((l) => l.length));

describe('fitTable', () => {
  it('prints whole rows without a width', () => {
    const text = fitTable(columns, rows);
    expect(text).toContain(rows[0]![3]);
    expect(text.split('\n')[0]).toMatch(/^NAME\s+KIND\s+ALIASES\s+DESCRIPTION$/);
  });

  it('cuts the last cuttable column first, marking the cut with …', () => {
    const text = fitTable(columns, rows, 80);
    expect(widest(text)).toBeLessThanOrEqual(80);
    expect(text).toContain('whisper, whisper-tiny-en');
    expect(text).toMatch(/OpenAI Whisper tiny\.en .*…/);
  });

  it('drops columns by rank when cutting is not enough, keeping the rest whole', () => {
    const text = fitTable(columns, rows, 40);
    expect(widest(text)).toBeLessThanOrEqual(40);
    expect(text.split('\n')[0]).toMatch(/^NAME\s+KIND\s+DESCRIPTION$/);
    const bare = fitTable(columns, rows, 20);
    expect(bare.split('\n')[0]).toMatch(/^NAME\s+KIND$/);
    expect(bare).toContain('whisper-tiny.en  asr');
  });
});

describe('shortenList', () => {
  it('keeps the list items that fit whole, cutting one only when none fits', async () => {
    const { shortenList } = await import('../../../commands/ui/fit-table.js');
    expect(shortenList('qwen3, qwen', 7)).toBe('qwen3');
    expect(shortenList('whisper, whisper-tiny-en', 7)).toBe('whisper');
    expect(shortenList('nomic-embed-text, nomic', 7)).toBe('nomic-…');
    expect(shortenList('ten', 7)).toBe('ten');
  });
});
