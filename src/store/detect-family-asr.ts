import { basename } from 'node:path';
import type { Family } from '../types/models.js';
import { needs, onnxOf, pick, tokensOf, unreadable, type Detector, type Scan } from './detect-family-speech.js';

/*
 * The multi-file speech-to-text layouts (Moonshine, transducers, Whisper)
 * and the voice-activity detectors. All ASR models here take 16 kHz input.
 */

const ASR_RATE = 16_000;

const moonshineV2: Detector = {
  families: ['moonshine-v2'],
  async detect(scan) {
    const encoder = pick(scan.files, /^encoder_model[^/]*\.(ort|onnx)$/i);
    const mergedDecoder = pick(scan.files, /^decoder_model_merged[^/]*\.(ort|onnx)$/i);
    const tokens = tokensOf(scan);
    if (!encoder || !mergedDecoder || !tokens) return needs('encoder_model.ort', 'decoder_model_merged.ort', 'tokens.txt');
    return { family: 'moonshine-v2', files: { encoder, mergedDecoder, tokens }, sampleRate: ASR_RATE };
  },
};

const moonshine: Detector = {
  families: ['moonshine'],
  async detect(scan) {
    const onnx = onnxOf(scan);
    const files = {
      preprocessor: pick(onnx, /^preprocess/i),
      encoder: pick(onnx, /^encode\./i),
      uncachedDecoder: pick(onnx, /^uncached_decode/i),
      cachedDecoder: pick(onnx, /^cached_decode/i),
      tokens: tokensOf(scan),
    };
    if (Object.values(files).some((f) => !f)) {
      return needs('preprocess.onnx', 'encode.onnx', 'uncached_decode.onnx', 'cached_decode.onnx', 'tokens.txt');
    }
    const meta = await scan.meta(files.preprocessor!);
    if (!meta) return unreadable(files.preprocessor!);
    return { family: 'moonshine', files: files as Record<string, string>, sampleRate: ASR_RATE, metadata: meta };
  },
};

/** Streaming (online) zipformer/lstm/conformer transducers: chunked file names or streaming-only metadata. */
const isStreaming = (names: readonly string[], meta: Readonly<Record<string, string>>): boolean =>
  names.some((n) => /chunk-\d+/i.test(n)) ||
  'decode_chunk_len' in meta ||
  'left_context_len' in meta ||
  meta.model_type === 'lstm' ||
  /(^|[^-])streaming/i.test(meta.comment ?? '');

/** NeMo exports (Parakeet TDT, …) as sherpa-onnx tells them apart from icefall's. */
const isNemo = (meta: Readonly<Record<string, string>>, scan: Scan): boolean => {
  if (meta.model_type) return meta.model_type.startsWith('EncDec') || meta.model_type === 'nemo_transducer';
  return /nemo/i.test(meta.model_author ?? '') || /nemo|parakeet/i.test(basename(scan.dir));
};

/** The full-precision file matching `pattern` (`name.onnx` before `name.fp16.onnx`), if there is one. */
const pickFp32 = (names: readonly string[], pattern: RegExp): string | undefined => pick(names.filter((n) => pattern.test(n) && !/\.int8\./i.test(n)), pattern);

const transducer: Detector = {
  families: ['transducer', 'nemo-transducer', 'streaming-transducer'],
  async detect(scan, forced) {
    const onnx = onnxOf(scan);
    const files = {
      encoder: pick(onnx, /encoder/i),
      decoder: pick(onnx, /decoder/i),
      joiner: pick(onnx, /joiner/i),
      tokens: tokensOf(scan),
    };
    if (Object.values(files).some((f) => !f)) return needs('encoder*.onnx', 'decoder*.onnx', 'joiner*.onnx', 'tokens.txt');
    const meta = await scan.meta(files.encoder!);
    if (!meta) return unreadable(files.encoder!);
    const names = [files.encoder!, files.decoder!, files.joiner!];
    const inferred: Family = isStreaming(names, meta) ? 'streaming-transducer' : isNemo(meta, scan) ? 'nemo-transducer' : 'transducer';
    const family = forced ?? inferred;
    if (family !== 'streaming-transducer') return { family, files: files as Record<string, string>, sampleRate: ASR_RATE, metadata: meta };
    // Encoder and joiner int8 (when shipped), the decoder in full precision: the pairing sherpa-onnx's
    // own examples and app packaging use for these releases (scripts/apk/generate-asr-apk-script.py
    // keeps exactly those three of the 20M model's six); the decoder is small either way.
    const decoder = pickFp32(onnx, /decoder/i) ?? files.decoder!;
    // The decoder holds the vocabulary's size (what the tokens file is checked against at pull).
    const decoderMeta = (await scan.meta(decoder)) ?? {};
    const vocab = Object.fromEntries(['vocab_size', 'context_size'].filter((k) => decoderMeta[k] && !meta[k]).map((k) => [k, decoderMeta[k]!]));
    return { family, files: { ...(files as Record<string, string>), decoder }, sampleRate: ASR_RATE, metadata: { ...meta, ...vocab } };
  },
};

const whisper: Detector = {
  families: ['whisper'],
  async detect(scan) {
    const onnx = onnxOf(scan);
    const encoder = pick(onnx, /encoder/i);
    const decoder = pick(onnx, /decoder/i);
    const tokens = tokensOf(scan);
    if (!encoder || !decoder || !tokens) return needs('<m>-encoder.onnx', '<m>-decoder.onnx', '<m>-tokens.txt');
    if (pick(onnx, /joiner/i)) return { missing: 'has a joiner (a transducer, not whisper)' };
    const meta = await scan.meta(encoder);
    if (!meta) return unreadable(encoder);
    // A streaming transducer short of its joiner is not whisper either (sherpa-onnx would exit on it).
    if (isStreaming([encoder, decoder], meta)) return { missing: `has a streaming transducer's encoder (${encoder}) but no joiner*.onnx` };
    return { family: 'whisper', files: { encoder, decoder, tokens }, sampleRate: ASR_RATE, metadata: meta };
  },
};

const VAD_RATE = 16_000;

/** Silero or ten-vad: one .onnx named after it and no tokens (a model folder's tokens.txt means ASR/TTS). */
const vad: Detector = {
  families: ['silero-vad', 'ten-vad'],
  async detect(scan, forced) {
    const silero = pick(onnxOf(scan), /silero/i);
    const ten = pick(onnxOf(scan), /ten[-_]?vad/i);
    const family: Family = forced ?? (silero ? 'silero-vad' : 'ten-vad');
    const model = family === 'silero-vad' ? silero : ten;
    if (!model || tokensOf(scan)) return needs('silero_vad.onnx or ten-vad.onnx (and no tokens.txt)');
    const meta = await scan.meta(model);
    if (!meta) return unreadable(model);
    return { family, files: { model }, sampleRate: VAD_RATE, metadata: meta };
  },
};

/** In the order tried: the most specific file sets first. */
export const asrDetectors: readonly Detector[] = [moonshineV2, moonshine, transducer, whisper];
export const vadDetector: Detector = vad;
