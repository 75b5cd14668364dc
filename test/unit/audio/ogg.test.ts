import { describe, expect, it } from 'vitest';
import { createEncoder } from '../../../src/audio/encode.js';
import { createOggWriter, OGG_BOS, oggCrc } from '../../../src/audio/encoders/ogg.js';
import { concatBytes } from '../../../src/audio/pcm.js';
import { sine } from './signal.js';

interface Page {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  crcOk: boolean;
  packets: Uint8Array[];
}

/** A small independent Ogg reader for the tests. */
const readPages = (bytes: Uint8Array): Page[] => {
  const pages: Page[] = [];
  let at = 0;
  while (at < bytes.length) {
    expect(String.fromCharCode(...bytes.subarray(at, at + 4))).toBe('OggS');
    const view = new DataView(bytes.buffer, bytes.byteOffset + at);
    const count = bytes[at + 26];
    const lacing = Array.from(bytes.subarray(at + 27, at + 27 + count));
    const bodyLength = lacing.reduce((a, b) => a + b, 0);
    const page = bytes.slice(at, at + 27 + count + bodyLength);
    const stored = new DataView(page.buffer).getUint32(22, true);
    page.fill(0, 22, 26);
    const packets: Uint8Array[] = [];
    let body = at + 27 + count;
    let current: number[] = [];
    for (const l of lacing) {
      current.push(...bytes.subarray(body, body + l));
      body += l;
      if (l < 255) {
        packets.push(Uint8Array.from(current));
        current = [];
      }
    }
    pages.push({ flags: bytes[at + 5], granule: view.getBigInt64(6, true), serial: view.getUint32(14, true), sequence: view.getUint32(18, true), crcOk: oggCrc(page) === stored, packets });
    at += 27 + count + bodyLength;
  }
  return pages;
};

describe('ogg', () => {
  it('computes the Ogg CRC-32 (poly 0x04C11DB7, init 0, no xor)', () => {
    expect(oggCrc(new TextEncoder().encode('123456789'))).toBe(0x89a1897f);
    expect(oggCrc(new Uint8Array(0))).toBe(0);
  });

  it('laces packets of 255·n bytes with a trailing zero', () => {
    const writer = createOggWriter(7);
    const page = writer.page([new Uint8Array(255).fill(1), new Uint8Array(3).fill(2)], 42n, OGG_BOS);
    const [read] = readPages(page);
    expect(Array.from(page.subarray(26, 30))).toEqual([3, 255, 0, 3]);
    expect(read).toMatchObject({ flags: OGG_BOS, granule: 42n, serial: 7, sequence: 0, crcOk: true });
    expect(read.packets.map((p) => p.length)).toEqual([255, 3]);
    expect(() => writer.page([new Uint8Array(255 * 255)], 0n)).toThrow(RangeError);
  });

  it('lays Opus out as RFC 7845 says: OpusHead, OpusTags, audio, granule = pre-skip + length, EOS last', () => {
    const encoder = createEncoder('opus', { sampleRate: 22050 });
    const input = sine(440, 22050, 0.75);
    const bytes = concatBytes([encoder.push(input.subarray(0, 5000)), encoder.push(input.subarray(5000)), encoder.end()]);
    const pages = readPages(bytes);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    expect(new Set(pages.map((p) => p.serial)).size).toBe(1);
    const head = pages[0].packets[0];
    expect(pages[0].flags).toBe(OGG_BOS);
    expect(pages[0].packets).toHaveLength(1);
    expect(String.fromCharCode(...head.subarray(0, 8))).toBe('OpusHead');
    const headView = new DataView(head.buffer);
    expect([head[8], head[9], headView.getUint32(12, true)]).toEqual([1, 1, 22050]);
    const preSkip = headView.getUint16(10, true);
    expect(String.fromCharCode(...pages[1].packets[0].subarray(0, 8))).toBe('OpusTags');
    expect(pages[1].granule).toBe(0n);
    const audio = pages.slice(2);
    expect(audio.map((p) => p.flags)).toEqual([...audio.slice(1).map(() => 0), 4]);
    const granules = audio.map((p) => p.granule);
    expect([...granules].sort((a, b) => (a < b ? -1 : 1))).toEqual(granules);
    // The input's length at 48 kHz (what the resampler makes of 0.75 s at 22050 Hz).
    const length = Math.ceil((input.length * 48000) / 22050);
    expect(granules.at(-1)).toBe(BigInt(preSkip + length));
    // 20 ms packets cover the input: ceil(length / 960) of them.
    expect(audio.flatMap((p) => p.packets)).toHaveLength(Math.ceil(length / 960));
  });
});
