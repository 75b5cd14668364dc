import { apiKey } from '../api.js';

/*
 * "Speak replies": the reply's text goes to the daemon's speech stream
 * (the WebSocket /v1/audio/speech/stream, the key as the subprotocol
 * murmur-key.KEY since a browser cannot set headers on a WebSocket) as it
 * arrives; the daemon speaks each sentence once it is complete and sends
 * its audio as base64 16-bit PCM, which plays through WebAudio, each piece
 * queued after the one before. One socket per reply: session.close lets
 * what is queued finish; stop() cuts it off and silences what was queued.
 */

interface StreamEvent {
  readonly type: string;
  readonly audio?: string;
  readonly sample_rate?: number;
  readonly message?: string;
}

let shared: AudioContext | undefined;
/** The page's one AudioContext; made (or resumed) from a click so the browser lets it play. */
export const audioContext = (): AudioContext => {
  shared ??= new AudioContext();
  if (shared.state === 'suspended') void shared.resume();
  return shared;
};

const pcmToFloat = (base64: string): Float32Array<ArrayBuffer> => {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const samples = new Int16Array(bytes.buffer, 0, bytes.byteLength >> 1);
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i]! / 32768;
  return out;
};

export class ReplySpeaker {
  private readonly socket: WebSocket;
  private readonly waiting: string[] = [];
  private readonly sources = new Set<AudioBufferSourceNode>();
  private readonly context = audioContext();
  private playAt = 0;
  private stopped = false;
  private said = false;

  constructor(
    model: string,
    private readonly onError: (message: string) => void,
  ) {
    const url = new URL('/v1/audio/speech/stream', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('model', model);
    url.searchParams.set('response_format', 'pcm');
    const key = apiKey();
    this.socket = key ? new WebSocket(url, [`murmur-key.${key}`]) : new WebSocket(url);
    this.socket.onopen = () => {
      for (const message of this.waiting.splice(0)) this.socket.send(message);
    };
    this.socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let message: StreamEvent;
      try {
        message = JSON.parse(event.data) as StreamEvent;
      } catch {
        return;
      }
      if (message.type === 'audio.delta' && message.audio) this.play(pcmToFloat(message.audio), message.sample_rate ?? 24_000);
      else if (message.type === 'error') this.onError(`Speaking the reply failed: ${message.message ?? 'the speech stream said no.'}`);
    };
    this.socket.onclose = (event) => {
      if (this.stopped || event.code === 1000) return;
      if (event.code === 1008) this.onError('Speaking the reply failed: the daemon refused the API key on the speech stream.');
      else if (event.code !== 4400 && event.code !== 4404) this.onError(`The speech stream closed (${event.code}${event.reason ? `: ${event.reason}` : ''}).`);
    };
  }

  private send(message: unknown): void {
    if (this.stopped) return;
    const text = JSON.stringify(message);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
    else if (this.socket.readyState === WebSocket.CONNECTING) this.waiting.push(text);
  }

  private play(samples: Float32Array<ArrayBuffer>, rate: number): void {
    if (this.stopped || samples.length === 0) return;
    const buffer = this.context.createBuffer(1, samples.length, rate);
    buffer.copyToChannel(samples, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    this.playAt = Math.max(this.playAt, this.context.currentTime + 0.05);
    source.start(this.playAt);
    this.playAt += buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  /** More of the reply's text. */
  append(text: string): void {
    if (!text) return;
    this.said = true;
    this.send({ type: 'input_text.append', text });
  }

  /** The reply is complete: speak what is left, then close. */
  end(): void {
    if (this.said) this.send({ type: 'input_text.flush' });
    this.send({ type: 'session.close' });
  }

  /** Silence now: queued audio stops and synthesis is cancelled. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const source of this.sources) {
      try {
        source.stop();
      } catch {
        /* not started yet */
      }
    }
    this.sources.clear();
    if (this.socket.readyState === WebSocket.CONNECTING || this.socket.readyState === WebSocket.OPEN) this.socket.close(1000, 'stopped');
  }
}
