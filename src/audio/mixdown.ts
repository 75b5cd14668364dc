/** The parts of a WAV header that say how its frames are laid out. */
export interface FrameLayout {
  encoding: 'pcm' | 'float' | 'alaw' | 'mulaw';
  channels: number;
  bitsPerSample: number;
  blockAlign: number;
}

/** G.711 µ-law byte to a linear sample in [-1, 1]. */
const mulawToFloat = (byte: number): number => {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return (u & 0x80 ? 0 - magnitude : magnitude) / 32768; // 0 - 0 is +0, unlike -0
};

/** G.711 A-law byte to a linear sample in [-1, 1]. */
const alawToFloat = (byte: number): number => {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return (a & 0x80 ? magnitude : -magnitude) / 32768;
};

const G711 = (decode: (b: number) => number) => Float32Array.from({ length: 256 }, (_, b) => decode(b));
let mulawTable: Float32Array | undefined;
let alawTable: Float32Array | undefined;

type SampleReader = (view: DataView, at: number) => number;

const sampleReader = (layout: FrameLayout): SampleReader => {
  switch (layout.encoding) {
    case 'float':
      return layout.bitsPerSample === 64 ? (v, at) => v.getFloat64(at, true) : (v, at) => v.getFloat32(at, true);
    case 'mulaw': {
      const table = (mulawTable ??= G711(mulawToFloat));
      return (v, at) => table[v.getUint8(at)];
    }
    case 'alaw': {
      const table = (alawTable ??= G711(alawToFloat));
      return (v, at) => table[v.getUint8(at)];
    }
    case 'pcm':
      switch (layout.bitsPerSample) {
        case 8: // 8-bit WAV is unsigned, centred on 128
          return (v, at) => (v.getUint8(at) - 128) / 128;
        case 16:
          return (v, at) => v.getInt16(at, true) / 32768;
        case 24:
          return (v, at) => ((v.getUint8(at) | (v.getUint8(at + 1) << 8) | (v.getInt8(at + 2) << 16)) / 8388608);
        default:
          return (v, at) => v.getInt32(at, true) / 2147483648;
      }
  }
};

/** Typed arrays use the host's byte order; WAV is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** 1/32768, a power of two: multiplying by it gives exactly what dividing by 32768 does. */
const PCM16_SCALE = 1 / 32768;

/** The common case (16-bit PCM) in a tight loop over the samples in place; the same results as the generic path. */
const pcm16ToMono = (pcm: Int16Array, channels: number, stride: number, samples: Float32Array): void => {
  const frames = samples.length;
  if (channels === 1 && stride === 1) {
    for (let f = 0; f < frames; f++) samples[f] = pcm[f] * PCM16_SCALE;
    return;
  }
  for (let f = 0, at = 0; f < frames; f++, at += stride) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[at + c] * PCM16_SCALE;
    samples[f] = sum / channels;
  }
};

/**
 * Converts whole interleaved frames to mono float samples, averaging the
 * channels. Trailing bytes that do not make a whole frame are ignored.
 * @param bytes interleaved frames as stored in the WAV data chunk
 * @param out optional array to write into, from `outOffset` on (room for every frame)
 * @returns `out` when given, else a new array of the frames' samples
 */
export const framesToMono = (bytes: Uint8Array, layout: FrameLayout, out?: Float32Array, outOffset = 0): Float32Array => {
  const frames = Math.floor(bytes.length / layout.blockAlign);
  const samples = out ? out.subarray(outOffset, outOffset + frames) : new Float32Array(frames);
  const { channels, blockAlign } = layout;
  if (layout.encoding === 'pcm' && layout.bitsPerSample === 16 && LITTLE_ENDIAN && bytes.byteOffset % 2 === 0 && blockAlign % 2 === 0) {
    pcm16ToMono(new Int16Array(bytes.buffer, bytes.byteOffset, frames * (blockAlign / 2)), channels, blockAlign / 2, samples);
    return out ?? samples;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = sampleReader(layout);
  const step = layout.bitsPerSample / 8;
  if (channels === 1) {
    for (let f = 0, at = 0; f < frames; f++, at += blockAlign) samples[f] = read(view, at);
    return out ?? samples;
  }
  for (let f = 0, at = 0; f < frames; f++, at += blockAlign) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(view, at + c * step);
    samples[f] = sum / channels;
  }
  return out ?? samples;
};

/**
 * Mixes planar channels (one Float32Array each, as the WASM decoders return
 * them) down to mono by averaging. A single channel is returned as is.
 */
export const mixToMono = (channelData: Float32Array[], length = channelData[0]?.length ?? 0): Float32Array => {
  if (channelData.length === 1) return channelData[0].length === length ? channelData[0] : channelData[0].subarray(0, length);
  const out = new Float32Array(length);
  for (const channel of channelData) for (let i = 0; i < length; i++) out[i] += channel[i];
  const scale = 1 / channelData.length;
  for (let i = 0; i < length; i++) out[i] *= scale;
  return out;
};
