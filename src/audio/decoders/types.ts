/** Decoded audio delivered a piece at a time, so memory stays bounded however long the source is. */
export interface AudioStream {
  /** Hz of the samples `chunks()` yields (the source's own rate). */
  sampleRate: number;
  /** Channel count of the source; the chunks are already mixed down to mono. */
  channels: number;
  /** Seconds, when the container says so up front. */
  duration?: number;
  /** Which decoder is at work: 'wav' (native), 'wasm' or 'ffmpeg'. */
  decoder: 'wav' | 'wasm' | 'ffmpeg';
  /** Mono float chunks of `chunkSeconds` each (the last may be shorter); iterate once. */
  chunks(): AsyncIterable<Float32Array>;
  /** Stops decoding and releases files and processes; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Collects mono samples of any piece size into chunks of exactly `size`
 * samples (the final flush may be shorter).
 */
export class Rechunker {
  private buffer: Float32Array;
  private filled = 0;

  constructor(private readonly size: number) {
    this.buffer = new Float32Array(size);
  }

  /** Adds samples; returns the chunks they completed. */
  push(samples: Float32Array): Float32Array[] {
    const out: Float32Array[] = [];
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(this.size - this.filled, samples.length - at);
      this.buffer.set(samples.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.size) {
        out.push(this.buffer);
        this.buffer = new Float32Array(this.size);
        this.filled = 0;
      }
    }
    return out;
  }

  /** The samples left over, or undefined when none. */
  flush(): Float32Array | undefined {
    if (!this.filled) return undefined;
    const rest = this.buffer.slice(0, this.filled);
    this.filled = 0;
    return rest;
  }
}
