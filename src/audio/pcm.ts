/**
 * Raw sample conversions. Engines hand out mono Float32Array samples in
 * [-1, 1]; files, pipes and codecs want signed 16-bit little-endian PCM.
 * Pure functions, no I/O.
 */

/**
 * Float samples to 16-bit integers, clipping anything outside [-1, 1]
 * (synthesis can overshoot; wrapping around would turn a peak into a click).
 * Scales by 32767 so +1 and -1 map to ±32767 symmetrically; NaN becomes 0.
 */
export const floatToInt16 = (samples: Float32Array): Int16Array => {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    // Rounds half away from zero so positive and negative peaks stay mirror images.
    out[i] = s >= 1 ? 32767 : s <= -1 ? -32767 : s > 0 ? Math.round(s * 32767) : s < 0 ? -Math.round(-s * 32767) : 0;
  }
  return out;
};

/** 16-bit integers back to floats in [-1, 1] (divides by 32768, the inverse most decoders use). */
export const int16ToFloat = (samples: Int16Array): Float32Array => {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] / 32768;
  return out;
};

/** Float samples to s16le bytes (2 bytes a sample, little-endian on every host). */
export const floatToS16le = (samples: Float32Array): Uint8Array => {
  const ints = floatToInt16(samples);
  const out = new Uint8Array(ints.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < ints.length; i++) view.setInt16(i * 2, ints[i], true);
  return out;
};

/**
 * s16le bytes to float samples. A trailing odd byte (half a sample, as a
 * pipe may deliver) is ignored; callers streaming bytes keep it for the next
 * chunk with `createS16leReader`.
 */
export const s16leToFloat = (bytes: Uint8Array): Float32Array => {
  const count = bytes.length >> 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
};

/**
 * Turns a stream of s16le byte chunks of any length into float samples,
 * carrying a split sample over to the next chunk.
 */
export const createS16leReader = (): { push(bytes: Uint8Array): Float32Array } => {
  let carry: Uint8Array | undefined;
  return {
    push(bytes) {
      const joined = carry ? concatBytes([carry, bytes]) : bytes;
      const whole = joined.length & ~1;
      carry = whole < joined.length ? joined.slice(whole) : undefined;
      return s16leToFloat(joined.subarray(0, whole));
    },
  };
};

/** Joins float chunks into one array. */
export const concatFloat32 = (chunks: readonly Float32Array[]): Float32Array => {
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Float32Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
};

/** Joins byte chunks into one array. */
export const concatBytes = (chunks: readonly Uint8Array[]): Uint8Array => {
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
};
