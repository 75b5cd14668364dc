/*
 * Plays 16-bit little-endian mono PCM through WebAudio as it arrives: each
 * chunk of the response body becomes an AudioBuffer scheduled right after
 * the one before, so playback starts with the first sentence and has no gaps
 * while the daemon keeps ahead.
 */

export interface PcmPlayer {
  /** Queues the next bytes of the body (a chunk may end mid-sample; the odd byte waits for the next). */
  push(bytes: Uint8Array): void;
  /** Seconds of audio queued so far. */
  readonly seconds: number;
  /** Resolves when everything queued has played (or at once when stopped). */
  drained(): Promise<void>;
  stop(): void;
}

/** A player at `sampleRate`; create it from a user gesture (a click), which lets the page make sound. */
export const createPcmPlayer = (sampleRate: number): PcmPlayer => {
  const context = new AudioContext();
  let next = 0;
  let samples = 0;
  let held: number | undefined;
  let stopped = false;
  const sources = new Set<AudioBufferSourceNode>();
  let wake: (() => void) | undefined;

  const play = (pcm: Float32Array<ArrayBuffer>) => {
    const buffer = context.createBuffer(1, pcm.length, sampleRate);
    buffer.copyToChannel(pcm, 0);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    // A little lead on the first chunk (and after an underrun) so the start is not clipped.
    next = Math.max(next, context.currentTime + 0.05);
    source.start(next);
    next += buffer.duration;
    sources.add(source);
    source.onended = () => {
      sources.delete(source);
      if (!sources.size) wake?.();
    };
  };

  return {
    push(bytes) {
      if (stopped || !bytes.length) return;
      let start = 0;
      const parts: number[] = [];
      if (held !== undefined) {
        parts.push((((bytes[0]! << 8) | held) << 16) >> 16);
        held = undefined;
        start = 1;
      }
      const pairs = Math.floor((bytes.length - start) / 2);
      const pcm = new Float32Array(parts.length + pairs);
      if (parts.length) pcm[0] = parts[0]! / 32768;
      const view = new DataView(bytes.buffer, bytes.byteOffset + start, pairs * 2);
      for (let i = 0; i < pairs; i++) pcm[parts.length + i] = view.getInt16(i * 2, true) / 32768;
      if ((bytes.length - start) % 2) held = bytes[bytes.length - 1];
      if (!pcm.length) return;
      samples += pcm.length;
      play(pcm);
    },
    get seconds() {
      return samples / sampleRate;
    },
    drained: () =>
      stopped || !sources.size
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            wake = resolve;
          }),
    stop() {
      stopped = true;
      for (const source of sources) {
        try {
          source.stop();
        } catch {
          /* not started yet */
        }
      }
      sources.clear();
      wake?.();
      void context.close().catch(() => undefined);
    },
  };
};
