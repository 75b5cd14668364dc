/*
 * Recording from the microphone into a 16-bit mono WAV, in the page: the
 * daemon decodes WAV natively, so a recording needs no ffmpeg (a
 * MediaRecorder's webm would). The samples are taken with a
 * ScriptProcessorNode (an AudioWorklet would need a script URL the page's
 * Content-Security-Policy does not allow from a blob) and brought down to
 * 16 kHz, which every speech model here reads. The browser's own processing
 * (echo cancellation, noise suppression, gain) is off: the model hears the
 * microphone as it is.
 */

export const RECORD_RATE = 16_000;

/** A 16-bit PCM mono WAV of `samples` at `sampleRate`. */
export const encodeWav = (samples: Float32Array, sampleRate: number): Blob => {
  const data = samples.length * 2;
  const bytes = new ArrayBuffer(44 + data);
  const view = new DataView(bytes);
  const ascii = (at: number, text: string) => [...text].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + data, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, data, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    view.setInt16(44 + i * 2, s < 0 ? s * 32768 : s * 32767, true);
  }
  return new Blob([bytes], { type: 'audio/wav' });
};

/** `samples` at `from` Hz brought to `to` Hz, each output sample the mean of the inputs it covers (a box filter: enough against aliasing for speech). */
export const downsample = (samples: Float32Array, from: number, to: number): Float32Array => {
  if (from === to) return samples;
  const ratio = from / to;
  const out = new Float32Array(Math.floor(samples.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const start = Math.floor(i * ratio);
    const end = Math.max(start + 1, Math.floor((i + 1) * ratio));
    let sum = 0;
    for (let j = start; j < end; j++) sum += samples[j]!;
    out[i] = sum / (end - start);
  }
  return out;
};

export interface Recording {
  /** Seconds recorded so far. */
  readonly seconds: number;
  /** Stops and returns the WAV. */
  stop(): Promise<Blob>;
  /** Stops and drops what was recorded. */
  cancel(): void;
}

/** Why the microphone cannot be used, in words, for a getUserMedia failure. */
export const microphoneProblem = (error: unknown): string => {
  const name = (error as Error | undefined)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'The microphone is blocked for this page. Allow it in the browser (the icon in the address bar, or the site settings), then press Record again.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No microphone was found. Plug one in, or pick a file instead.';
  if (name === 'NotReadableError') return 'The microphone is in use by another program, or the system refused it.';
  return `The microphone could not be opened: ${(error as Error | undefined)?.message || String(error)}`;
};

/** Starts recording; rejects with a worded Error when the microphone cannot be had. */
export const startRecording = async (): Promise<Recording> => {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('This browser gives no microphone to this page (a page not on localhost needs https for it). Pick a file instead.');
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  } catch (error) {
    throw new Error(microphoneProblem(error));
  }
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const processor = context.createScriptProcessor(4096, 1, 1);
  const chunks: Float32Array[] = [];
  let count = 0;
  processor.onaudioprocess = (event) => {
    const input = event.inputBuffer.getChannelData(0);
    chunks.push(new Float32Array(input));
    count += input.length;
  };
  source.connect(processor);
  // A processor only runs when connected onward; its output is silence.
  processor.connect(context.destination);
  const rate = context.sampleRate;
  const close = () => {
    processor.onaudioprocess = null;
    source.disconnect();
    processor.disconnect();
    stream.getTracks().forEach((t) => t.stop());
    void context.close().catch(() => undefined);
  };
  return {
    get seconds() {
      return count / rate;
    },
    async stop() {
      close();
      const all = new Float32Array(count);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      return encodeWav(downsample(all, rate, Math.min(rate, RECORD_RATE)), Math.min(rate, RECORD_RATE));
    },
    cancel: close,
  };
};
