/** Container/codec families murmur tells apart by their first bytes. */
export type AudioFormat = 'wav' | 'mp3' | 'flac' | 'ogg-opus' | 'ogg-vorbis' | 'ogg-flac' | 'ogg' | 'm4a' | 'aac' | 'webm' | 'aiff' | 'caf' | 'unknown';

/** Bytes to look at before deciding (an Ogg page header plus its codec id fits well within). */
export const SNIFF_BYTES = 64;

const ascii = (b: Uint8Array, at: number, length: number) => String.fromCharCode(...b.subarray(at, at + length));

/** Length of an ID3v2 tag at the start, or 0. */
const id3Length = (b: Uint8Array): number => {
  if (b.length < 10 || ascii(b, 0, 3) !== 'ID3') return 0;
  const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
  return 10 + size + (b[5] & 0x10 ? 10 : 0);
};

/**
 * Identifies an audio file by its magic bytes, never by its name: RIFF/WAVE,
 * ID3 or an MPEG audio frame sync, fLaC, OggS with OpusHead / vorbis / FLAC,
 * an ISO-BMFF `ftyp` box (m4a/mp4), EBML 1A45DFA3 (webm/matroska), ADTS AAC,
 * AIFF and CAF.
 * @param head the file's first bytes (SNIFF_BYTES is enough)
 */
export const detectAudioFormat = (head: Uint8Array): AudioFormat => {
  if (head.length >= 12) {
    const riff = ascii(head, 0, 4);
    if ((riff === 'RIFF' || riff === 'RF64') && ascii(head, 8, 4) === 'WAVE') return 'wav';
    if (riff === 'FORM' && /^AIF[FC]$/.test(ascii(head, 8, 4))) return 'aiff';
    if (ascii(head, 4, 4) === 'ftyp') return 'm4a';
  }
  if (head.length >= 4) {
    const magic = ascii(head, 0, 4);
    if (magic === 'fLaC') return 'flac';
    if (magic === 'caff') return 'caf';
    if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'webm';
    if (magic === 'OggS') {
      // The first page's first packet starts after the 27-byte header and its segment table.
      const body = 27 + (head[26] ?? 0);
      if (ascii(head, body, 8) === 'OpusHead') return 'ogg-opus';
      if (ascii(head, body, 7) === '\x01vorbis') return 'ogg-vorbis';
      if (ascii(head, body, 5) === '\x7fFLAC') return 'ogg-flac';
      return 'ogg';
    }
  }
  // An ID3v2 tag fronts mp3 (and, rarely, ADTS AAC); a tag larger than the sniffed bytes is taken as mp3.
  const tag = id3Length(head);
  if (tag) return tag + 2 <= head.length ? (frameSync(head, tag) ?? 'mp3') : 'mp3';
  return frameSync(head, 0) ?? 'unknown';
};

const frameSync = (b: Uint8Array, at: number): AudioFormat | undefined => {
  if (b.length < at + 2 || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return undefined;
  const layer = (b[at + 1] >> 1) & 0x03;
  if (layer === 0) return (b[at + 1] & 0xf0) === 0xf0 ? 'aac' : undefined; // ADTS has the MPEG-2/4 sync with layer 00
  const version = (b[at + 1] >> 3) & 0x03;
  return version === 1 ? undefined : 'mp3'; // version 01 is reserved
};

/** A short human name for messages. */
export const formatName = (format: AudioFormat): string =>
  ({
    wav: 'WAV',
    mp3: 'MP3',
    flac: 'FLAC',
    'ogg-opus': 'Ogg/Opus',
    'ogg-vorbis': 'Ogg/Vorbis',
    'ogg-flac': 'Ogg/FLAC',
    ogg: 'Ogg',
    m4a: 'M4A/MP4 (AAC)',
    aac: 'AAC (ADTS)',
    webm: 'WebM/Matroska',
    aiff: 'AIFF',
    caf: 'CAF',
    unknown: 'unknown',
  })[format];
