// opusscript: libopus 1.4 compiled to WASM (the encoder discord.js and many
// bots use), synchronous to construct, no native build. @evan/opus was the
// other candidate; opusscript is far more widely used and kept up to date.
import { createRequire } from 'node:module';
import { concatBytes, floatToS16le } from '../pcm.js';
import { createRateStage } from './pcm.js';
import { createOggWriter, OGG_BOS, OGG_EOS, OGG_MAX_SEGMENTS, oggSegmentsOf } from './ogg.js';
import type { AudioEncoder, EncoderOptions } from './types.js';

interface OpusScriptEncoder {
  encode(pcm: Buffer, frameSize: number): Buffer;
  setBitrate(bitrate: number): void;
  delete(): void;
}
interface OpusScriptClass {
  new (rate: number, channels: number, application: number): OpusScriptEncoder;
  Application: { VOIP: number; AUDIO: number };
}

const require = createRequire(import.meta.url);
const OpusScript = require('opusscript') as OpusScriptClass;

/** Rates libopus encodes at natively. */
export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;

/**
 * The rate to feed libopus: the input rate when Opus takes it, else 48 kHz
 * (Opus's own rate; 22050 Hz voices are upsampled once, band-limited).
 */
export const opusRateFor = (rate: number): number => ((OPUS_RATES as readonly number[]).includes(rate) ? rate : 48000);

/** Encoder look-ahead at 48 kHz (2.5 ms + 4 ms delay compensation): RFC 7845's pre-skip. */
const PRE_SKIP = 312;
/** Packets per Ogg page while streaming: 10 × 20 ms, so bytes leave at least every 200 ms of audio. */
const PACKETS_PER_PAGE = 10;

const opusHead = (preSkip: number, inputRate: number): Uint8Array => {
  const out = new Uint8Array(19);
  const view = new DataView(out.buffer);
  out.set(Buffer.from('OpusHead', 'ascii'), 0);
  out[8] = 1; // version
  out[9] = 1; // channels
  view.setUint16(10, preSkip, true);
  view.setUint32(12, inputRate, true); // informational: the original rate
  view.setInt16(16, 0, true); // output gain
  out[18] = 0; // channel mapping family 0 (mono/stereo)
  return out;
};

const opusTags = (): Uint8Array => {
  const vendor = Buffer.from('murmur (libopus via opusscript)', 'utf8');
  const out = new Uint8Array(8 + 4 + vendor.length + 4);
  const view = new DataView(out.buffer);
  out.set(Buffer.from('OpusTags', 'ascii'), 0);
  view.setUint32(8, vendor.length, true);
  out.set(vendor, 12);
  view.setUint32(12 + vendor.length, 0, true); // no user comments
  return out;
};

/**
 * Opus in an Ogg container (RFC 7845), mono, 20 ms frames, default 32 kb/s.
 * Headers go out with the first push; then a page every 10 packets. The
 * last page's granule position marks the true end, so decoders trim the
 * padding of the final frame and return exactly the input's length (at
 * 48 kHz, Opus's output rate).
 */
export const createOpusEncoder = ({ sampleRate, outputRate, bitrate = 32_000 }: EncoderOptions): AudioEncoder => {
  const rate = opusRateFor(outputRate ?? sampleRate);
  const stage = createRateStage(sampleRate, rate);
  const frame = rate / 50;
  const to48k = 48000 / rate;
  let opus: OpusScriptEncoder | undefined = new OpusScript(rate, 1, OpusScript.Application.AUDIO);
  opus.setBitrate(bitrate);
  const ogg = createOggWriter((Math.random() * 0xffffffff) >>> 0);

  let headersSent = false;
  let held = new Float32Array(0); // samples short of a whole frame
  let packets: Uint8Array[] = []; // encoded, not yet paged
  let packetCount = 0; // packets encoded so far
  let pagedCount = 0; // packets already written to pages
  let realSamples = 0; // input samples at `rate`, without the final frame's padding

  const headers = (): Uint8Array[] => {
    if (headersSent) return [];
    headersSent = true;
    return [ogg.page([opusHead(PRE_SKIP, sampleRate)], 0n, OGG_BOS), ogg.page([opusTags()], 0n)];
  };

  const encodeFrame = (chunk: Float32Array): void => {
    packets.push(Uint8Array.from(opus!.encode(Buffer.from(floatToS16le(chunk)), frame)));
    packetCount++;
  };

  /** Encodes whole frames; with `pad`, also the rest, zero-padded to a frame. */
  const encodeFrames = (samples: Float32Array, pad: boolean): void => {
    realSamples += samples.length;
    const all = new Float32Array(held.length + samples.length);
    all.set(held);
    all.set(samples, held.length);
    let offset = 0;
    for (; offset + frame <= all.length; offset += frame) encodeFrame(all.subarray(offset, offset + frame));
    held = all.slice(offset);
    if (pad && held.length) {
      const last = new Float32Array(frame);
      last.set(held);
      encodeFrame(last);
      held = new Float32Array(0);
    }
  };

  /**
   * Pages of up to PACKETS_PER_PAGE packets; a partial page waits unless
   * `final`. While streaming, at least one packet is held back so the last
   * page (which must carry the EOS flag) always has a packet to end.
   */
  const paginate = (final: boolean): Uint8Array[] => {
    const out: Uint8Array[] = [];
    while (packets.length > PACKETS_PER_PAGE || (final && packets.length > 0)) {
      const take: Uint8Array[] = [];
      let segments = 0;
      while (take.length < PACKETS_PER_PAGE && packets.length && segments + oggSegmentsOf(packets[0]) <= OGG_MAX_SEGMENTS) {
        segments += oggSegmentsOf(packets[0]);
        take.push(packets.shift()!);
      }
      pagedCount += take.length;
      const last = final && packets.length === 0;
      // A page's granule is the end of its last packet in 48 kHz samples plus
      // the pre-skip; on the last page, the true end (so padding is trimmed).
      const end = Math.min(pagedCount * frame, realSamples);
      out.push(ogg.page(take, BigInt(Math.round(end * to48k) + PRE_SKIP), last ? OGG_EOS : 0));
    }
    return out;
  };

  const dispose = (): void => {
    opus?.delete();
    opus = undefined;
  };

  return {
    format: 'opus',
    contentType: 'audio/ogg',
    sampleRate: 48000,
    push(samples) {
      if (!opus) return new Uint8Array(0);
      const head = headers();
      encodeFrames(stage.push(samples), false);
      return concatBytes([...head, ...paginate(false)]);
    },
    end() {
      if (!opus) return new Uint8Array(0);
      const head = headers();
      encodeFrames(stage.flush(), true);
      // An empty stream still needs one (silent) packet to carry the EOS flag.
      if (packetCount === 0) encodeFrame(new Float32Array(frame));
      const out = concatBytes([...head, ...paginate(true)]);
      dispose();
      return out;
    },
    dispose,
  };
};
