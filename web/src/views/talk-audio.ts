/*
 * The Talk view's audio: the microphone as pcm16 at 24 kHz (base64, as
 * input_audio_buffer.append wants it) and a playback queue for the reply's
 * pcm16 deltas. A ScriptProcessorNode taps the microphone: an AudioWorklet
 * would need its module loaded from a URL the page's CSP allows as a
 * script ('self' only), and the page is one bundled file. It is deprecated
 * but runs in every browser, and a 4096-frame buffer (~85 ms) is small
 * enough for turn detection.
 */

export const WIRE_RATE = 24_000;

/** Why the microphone could not be opened, in words for the page. */
export const microphoneProblem = (error: unknown): string => {
  const name = (error as { name?: string } | undefined)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return 'The microphone is blocked for this page. Allow it in the browser (the icon beside the address, or the site settings), then press Reconnect.';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'No microphone was found. Plug one in (or choose one in the system settings), then press Reconnect.';
  if (name === 'NotReadableError' || name === 'TrackStartError') return 'The microphone is in use by another program or could not be started. Close that program, then press Reconnect.';
  return `The microphone could not be opened: ${(error as Error)?.message || String(error)}`;
};

/** Base64 of bytes (btoa wants a binary string; built in slices so large buffers do not overflow the call stack). */
export const toBase64 = (bytes: Uint8Array): string => {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};

export const fromBase64 = (text: string): Uint8Array => {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
};

/**
 * A streaming resampler to 24 kHz: linear interpolation, after a moving
 * average over the decimation ratio when going down (a cheap low-pass, so
 * 48 kHz input does not fold its upper band into speech).
 */
export const createResampler = (inRate: number, outRate = WIRE_RATE) => {
  const step = inRate / outRate;
  const taps = step >= 1.5 ? Math.round(step) : 1;
  const history = new Float32Array(taps); // the last `taps` inputs, for the moving average across chunk edges
  let filled = 0;
  let sum = 0;
  let previous = 0; // the last filtered sample of the chunk before (index -1)
  let position = 0; // where the next output falls, in input samples from this chunk's first one
  return (input: Float32Array): Float32Array => {
    const filtered = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      const slot = filled % taps;
      if (filled >= taps) sum -= history[slot]!;
      history[slot] = input[i]!;
      sum += input[i]!;
      filled++;
      filtered[i] = sum / Math.min(filled, taps);
    }
    const at = (i: number) => (i < 0 ? previous : filtered[i]!);
    const out: number[] = [];
    while (position <= filtered.length - 1) {
      const i = Math.floor(position);
      const frac = position - i;
      out.push(frac === 0 ? at(i) : at(i) + (at(i + 1) - at(i)) * frac);
      position += step;
    }
    position -= filtered.length;
    if (filtered.length) previous = filtered[filtered.length - 1]!;
    return Float32Array.from(out);
  };
};

/** Float samples as little-endian pcm16 bytes. */
export const toPcm16 = (samples: Float32Array): Uint8Array => {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    view.setInt16(i * 2, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return bytes;
};

export interface Microphone {
  /** Stops capture and releases the device. */
  stop(): void;
}

/**
 * Opens the microphone on `context` and calls `onChunk` with each ~85 ms of
 * it as base64 pcm16 at 24 kHz, and `onLevel` with its loudness (0..1).
 * Throws getUserMedia's error (see microphoneProblem).
 */
export const openMicrophone = async (context: AudioContext, onChunk: (base64: string) => void, onLevel?: (level: number) => void): Promise<Microphone> => {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw Object.assign(new Error('This browser offers no microphone to this page: it needs a secure address (https://, or http://localhost).'), { name: 'InsecureContext' });
  }
  // Echo cancellation keeps the reply, played on speakers, from interrupting itself. Noise suppression and
  // gain control stay off: they smear speech (a recognizer mishears it) and the daemon's VAD judges loudness itself.
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
  const source = context.createMediaStreamSource(stream);
  const tap = context.createScriptProcessor(4096, 1, 1);
  const mute = context.createGain();
  mute.gain.value = 0; // the tap must reach the destination to run; nothing of the microphone is heard
  const resample = createResampler(context.sampleRate);
  let stopped = false;
  tap.onaudioprocess = (event) => {
    if (stopped) return;
    const input = event.inputBuffer.getChannelData(0);
    if (onLevel) {
      let energy = 0;
      for (let i = 0; i < input.length; i++) energy += input[i]! * input[i]!;
      onLevel(Math.min(1, Math.sqrt(energy / input.length) * 4));
    }
    const out = resample(input);
    if (out.length) onChunk(toBase64(toPcm16(out)));
  };
  source.connect(tap);
  tap.connect(mute);
  mute.connect(context.destination);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      tap.onaudioprocess = null;
      source.disconnect();
      tap.disconnect();
      mute.disconnect();
      for (const track of stream.getTracks()) track.stop();
    },
  };
};

/**
 * The reply's audio: pcm16 deltas at 24 kHz scheduled back to back on
 * `context` as they arrive; stop() silences at once what is queued (speech
 * over the reply).
 */
export const createPlayer = (context: AudioContext, rate = WIRE_RATE) => {
  const playing = new Set<AudioBufferSourceNode>();
  let next = 0;
  let odd: number | undefined; // a byte left over from a delta of odd length
  /** Per item: when its audio began playing and how much was queued, for conversation.item.truncate. */
  const items = new Map<string, { start: number; queued: number }>();
  return {
    /** Queues one delta; returns the seconds it holds. */
    push(bytes: Uint8Array, itemId?: string): number {
      let data = bytes;
      if (odd !== undefined) {
        data = new Uint8Array(bytes.length + 1);
        data[0] = odd;
        data.set(bytes, 1);
        odd = undefined;
      }
      if (data.length % 2) {
        odd = data[data.length - 1];
        data = data.subarray(0, data.length - 1);
      }
      const frames = data.length / 2;
      if (!frames) return 0;
      const view = new DataView(data.buffer, data.byteOffset, data.length);
      const buffer = context.createBuffer(1, frames, rate);
      const channel = buffer.getChannelData(0);
      for (let i = 0; i < frames; i++) channel[i] = view.getInt16(i * 2, true) / 32768;
      const node = context.createBufferSource();
      node.buffer = buffer;
      node.connect(context.destination);
      const at = Math.max(next, context.currentTime + 0.05);
      node.start(at);
      next = at + buffer.duration;
      playing.add(node);
      node.onended = () => playing.delete(node);
      if (itemId) {
        const item = items.get(itemId) ?? { start: at, queued: 0 };
        item.queued += buffer.duration;
        items.set(itemId, item);
      }
      return buffer.duration;
    },
    /** Whether audio is queued or sounding now. */
    busy: () => playing.size > 0 && next > context.currentTime,
    /** How many ms of `itemId` were heard (for truncate), or undefined when none of it was queued. */
    heardMs(itemId: string): number | undefined {
      const item = items.get(itemId);
      if (!item) return undefined;
      return Math.floor(Math.max(0, Math.min(item.queued, context.currentTime - item.start)) * 1000);
    },
    /** Silences everything queued. */
    stop() {
      for (const node of playing) {
        try {
          node.stop();
        } catch {
          /* not started yet, or already ended */
        }
      }
      playing.clear();
      next = 0;
      odd = undefined;
    },
  };
};

export type Player = ReturnType<typeof createPlayer>;
