import { concatFloat32 } from './pcm.js';

/**
 * Band-limited resampling for arbitrary rate pairs: the encoders' rate
 * stage (22050 → 48000 for opus; 16000 or 22050 → 24000 for the daemon's
 * pcm, which OpenAI defines at 24 kHz) and audio for recognisers
 * (48000 → 16000).
 *
 * A windowed-sinc interpolator (Kaiser window) read from a precomputed
 * table with linear interpolation between its phases, so any ratio costs
 * the same. It is zero-phase: output sample k sits exactly at input time
 * k·from/to, computed with integer arithmetic so long streams never drift.
 * Streaming keeps the input history between chunks, so audio pushed
 * sentence by sentence comes out identical to one push: no clicks at joins.
 */

/** Zero crossings of the sinc on each side; more = sharper cut-off, more work. */
const ZERO_CROSSINGS = 16;
/** Table resolution: filter values per input-sample of distance. */
const PHASES = 256;
/** Cut-off as a fraction of the lower Nyquist frequency, leaving room for the transition band. */
const ROLLOFF = 0.94;
/** Kaiser β: about 80 dB of stop-band attenuation. */
const KAISER_BETA = 8;

const besselI0 = (x: number): number => {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
};

interface Kernel {
  /** Taps on each side of the output position, in input samples. */
  half: number;
  /** h(d) at d = i / PHASES for i in 0 … half·PHASES + 1. */
  table: Float32Array;
}

const kernels = new Map<string, Kernel>();

const kernelFor = (from: number, to: number): Kernel => {
  const cutoff = Math.min(1, to / from) * ROLLOFF;
  const key = cutoff.toFixed(6);
  const cached = kernels.get(key);
  if (cached) return cached;
  // Downsampling stretches the filter so it also removes what would alias.
  const half = Math.ceil(ZERO_CROSSINGS / cutoff);
  const table = new Float32Array(half * PHASES + 2);
  const norm = besselI0(KAISER_BETA);
  for (let i = 0; i < table.length; i++) {
    const d = i / PHASES;
    if (d >= half) continue;
    const x = Math.PI * cutoff * d;
    const sinc = d === 0 ? 1 : Math.sin(x) / x;
    const r = d / half;
    table[i] = cutoff * sinc * (besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / norm);
  }
  const kernel = { half, table };
  kernels.set(key, kernel);
  return kernel;
};

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Resampled audio for the input so far (it lags the input by a few ms of filter history). */
  push(samples: Float32Array): Float32Array;
  /** The rest, assuming silence after the input; total output = ceil(input · to / from). */
  flush(): Float32Array;
}

/**
 * A streaming resampler from `fromRate` to `toRate` Hz (mono). Equal rates
 * pass samples through untouched.
 */
export const createResampler = (fromRate: number, toRate: number): Resampler => {
  for (const r of [fromRate, toRate]) {
    if (!Number.isInteger(r) || r <= 0) throw new RangeError(`Invalid sample rate ${r}`);
  }
  if (fromRate === toRate) {
    return { fromRate, toRate, push: (s) => s.slice(), flush: () => new Float32Array(0) };
  }
  const g = gcd(fromRate, toRate);
  const step = fromRate / g; // input advance per output sample, in units of 1/den
  const den = toRate / g;
  const { half, table } = kernelFor(fromRate, toRate);

  let buffer = new Float32Array(0); // input samples from absolute index `bufferStart`
  let bufferStart = 0;
  let totalIn = 0;
  let nextOut = 0; // absolute index of the next output sample

  const sampleAt = (index: number): number => {
    const i = index - bufferStart;
    return i >= 0 && i < buffer.length ? buffer[i] : 0;
  };

  /** Renders outputs while `ready(base)` holds and fewer than `total` have been made. */
  const render = (ready: (base: number) => boolean, total = Infinity): Float32Array => {
    const out: number[] = [];
    while (nextOut < total) {
      const num = nextOut * step;
      const base = Math.floor(num / den);
      if (!ready(base)) break;
      const frac = (num - base * den) / den;
      let acc = 0;
      let weight = 0;
      for (let j = -half + 1; j <= half; j++) {
        const pos = Math.abs(frac - j) * PHASES;
        const i = Math.floor(pos);
        const h = table[i] + (table[i + 1] - table[i]) * (pos - i);
        acc += h * sampleAt(base + j);
        weight += h;
      }
      // Normalising by the summed taps keeps DC gain exactly 1 at every phase.
      out.push(weight !== 0 ? acc / weight : 0);
      nextOut++;
    }
    return Float32Array.from(out);
  };

  const trim = (): void => {
    const keepFrom = Math.floor((nextOut * step) / den) - half;
    const drop = Math.min(keepFrom - bufferStart, buffer.length);
    if (drop > 0) {
      buffer = buffer.slice(drop);
      bufferStart += drop;
    }
  };

  return {
    fromRate,
    toRate,
    push(samples) {
      const joined = new Float32Array(buffer.length + samples.length);
      joined.set(buffer);
      joined.set(samples, buffer.length);
      buffer = joined;
      totalIn += samples.length;
      // Output k needs input up to base + half; stop where that has not arrived yet.
      const out = render((base) => base + half <= totalIn - 1);
      trim();
      return out;
    },
    flush() {
      const out = render(() => true, Math.ceil((totalIn * den) / step));
      trim();
      return out;
    },
  };
};

/** One-shot resampling of a whole buffer (same result as streaming it). */
export const resample = (samples: Float32Array, fromRate: number, toRate: number): Float32Array => {
  const resampler = createResampler(fromRate, toRate);
  return concatFloat32([resampler.push(samples), resampler.flush()]);
};
