// libflacjs: the reference libFLAC (1.3.4) compiled to JavaScript with
// emscripten, maintained on npm, with a streaming encoder API. Its asm.js
// build is used: the WASM build locates its .wasm with fetch(), which fails
// on Node 20 for a file path. Nothing native, so installing never fails.
import { createRequire } from 'node:module';
import { concatBytes } from '../pcm.js';
import { floatToInt16 } from '../pcm.js';
import { createRateStage } from './pcm.js';
import type { AudioEncoder, EncoderOptions } from './types.js';

/** The part of libflacjs's API murmur uses. */
interface LibFlac {
  isReady(): boolean;
  on(event: 'ready', listener: () => void): void;
  create_libflac_encoder(
    sampleRate: number,
    channels: number,
    bitsPerSample: number,
    compressionLevel: number,
    totalSamples?: number,
    verify?: boolean,
    blockSize?: number,
  ): number;
  init_encoder_stream(encoder: number, write: (data: Uint8Array, bytes: number) => void): number;
  FLAC__stream_encoder_process_interleaved(encoder: number, buffer: Int32Array, samples: number): boolean;
  FLAC__stream_encoder_finish(encoder: number): boolean;
  FLAC__stream_encoder_delete(encoder: number): void;
}

const require = createRequire(import.meta.url);
const flac = (require('libflacjs') as (variant?: string) => LibFlac)();
// The emscripten runtime starts asynchronously (a few ms); waiting here lets
// createEncoder stay synchronous for everyone who imported this module.
if (!flac.isReady()) await new Promise<void>((resolve) => flac.on('ready', resolve));

/**
 * FLAC (16-bit mono, compression level 5). Streamed: libFLAC writes the
 * STREAMINFO first with the total length unknown (0, which the format
 * allows), then each frame of 4096 samples as it fills.
 */
export const createFlacEncoder = ({ sampleRate, outputRate }: EncoderOptions): AudioEncoder => {
  const rate = outputRate ?? sampleRate;
  if (rate > 655_350) throw new RangeError(`FLAC cannot store ${rate} Hz`);
  const stage = createRateStage(sampleRate, rate);
  let encoder: number | undefined = flac.create_libflac_encoder(rate, 1, 16, 5, 0, false, 0);
  if (!encoder) throw new Error('libFLAC could not create an encoder');
  let pending: Uint8Array[] = [];
  const status = flac.init_encoder_stream(encoder, (data, bytes) => {
    pending.push(data.slice(0, bytes));
  });
  if (status !== 0) {
    flac.FLAC__stream_encoder_delete(encoder);
    throw new Error(`libFLAC encoder init failed (status ${status})`);
  }
  const take = (): Uint8Array => {
    const out = concatBytes(pending);
    pending = [];
    return out;
  };
  const encode = (samples: Float32Array): void => {
    if (encoder === undefined || samples.length === 0) return;
    const ints = Int32Array.from(floatToInt16(samples));
    if (!flac.FLAC__stream_encoder_process_interleaved(encoder, ints, ints.length)) {
      throw new Error('libFLAC failed to encode');
    }
  };
  const dispose = (): void => {
    if (encoder === undefined) return;
    flac.FLAC__stream_encoder_delete(encoder);
    encoder = undefined;
  };
  return {
    format: 'flac',
    contentType: 'audio/flac',
    sampleRate: rate,
    push(samples) {
      encode(stage.push(samples));
      return take();
    },
    end() {
      if (encoder === undefined) return new Uint8Array(0);
      encode(stage.flush());
      flac.FLAC__stream_encoder_finish(encoder);
      dispose();
      return take();
    },
    dispose,
  };
};
