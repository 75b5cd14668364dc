import type { Config } from '../config.js';
import type { ChatRequest, CompletionRequest, EmbedRequest, EmbedResult, GenerationResult } from '../types/chat.js';
import type { EngineCrash, EngineHealth, LoadedModel, LoadOptions, ModelInfo } from '../types/models.js';
import type { SpeakRequest, SpeakResult, VoiceList } from '../types/speech.js';
import type { TranscribeRequest, TranscribeResult } from '../types/transcript.js';
import type { PullOptions } from '../store/types.js';
import type { SpeechSession, SpeechSessionOptions } from './speech-session.js';
import type { ListenOptions, ListenSession } from './listen-session.js';
import type { Conversation, ConversationOptions } from './conversation.js';
import type { Routing } from '../routing/router.js';
import type { UpstreamStatus } from '../routing/upstream.js';

/**
 * The Runtime: what both doors (commands/ and server/) are written against.
 * LocalRuntime runs the engines here; RemoteRuntime speaks to a murmur
 * daemon (or any OpenAI-compatible server) over HTTP. Every call takes an
 * AbortSignal; streaming is through callbacks (onToken, onAudio,
 * onSegment) and sessions (async iterables). The domain types live in
 * src/types/.
 */
export interface Runtime extends AsyncDisposable, SpeechRuntime {
  readonly config: Config;
  /** Present on a routing runtime (routing-runtime.ts): the upstreams and routes, for the pass-through routes, /metrics and ps. */
  readonly routing?: Routing;
  /** Models installed. */
  listModels(): Promise<ModelInfo[]>;
  /** The upstream servers routed models go to, and how each is doing; absent (or empty) where nothing is routed. */
  upstreams?(): Promise<UpstreamStatus[]>;
  getModel(name: string): Promise<ModelInfo>;
  chat(request: ChatRequest): Promise<GenerationResult>;
  complete(request: CompletionRequest): Promise<GenerationResult>;
  /** The tokens a chat request's prompt takes (its messages and tools, rendered by the model's template), without generating. */
  countTokens(request: ChatRequest): Promise<number>;
  embed(request: EmbedRequest): Promise<EmbedResult>;
  load(name: string, options?: LoadOptions): Promise<LoadedModel>;
  /** Unloads the named models (all when `names` is 'all'); returns the names unloaded. */
  unload(names: readonly string[] | 'all'): Promise<string[]>;
  ps(): Promise<LoadedModel[]>;
  /** Models whose load is in flight now (for the daemon's /health); absent on runtimes that cannot tell. */
  loading?(): string[];
  /** Engine restarts and broken models (for the daemon's metrics); absent on runtimes that cannot tell. */
  engineHealth?(): EngineHealth;
  /** Calls `listener` on each engine crash (the daemon logs them); returns the unsubscribe. */
  onEngineCrash?(listener: (crash: EngineCrash) => void): () => void;
  pull(ref: string, options?: PullOptions): Promise<ModelInfo>;
  /** Removes an installed model, unloading it first when loaded. */
  remove(name: string): Promise<void>;
  /** Installs `source` again under the name `destination`, sharing its files; returns the copy. */
  copy(source: string, destination: string): Promise<ModelInfo>;
}

/** The speech half of the Runtime; LocalRuntime and RemoteRuntime implement it alongside the text half. */
export interface SpeechRuntime {
  speak(request: SpeakRequest): Promise<SpeakResult>;
  /**
   * Opens an incremental speech session: text goes in as it arrives, audio
   * comes out sentence by sentence as it is made (see speech-session.ts).
   */
  openSpeech(options?: SpeechSessionOptions): Promise<SpeechSession>;
  /**
   * Opens a listening session: captured audio goes in as it comes, turns
   * come out (speech started / stopped, and each turn's transcript; see
   * listen-session.ts). Absent on runtimes that cannot listen (a daemon
   * reached over HTTP, until its realtime door).
   */
  openListen?(options?: ListenOptions): Promise<ListenSession>;
  /**
   * Opens a spoken conversation: listen → chat → speak, with turn-taking
   * and barge-in (see conversation.ts). Absent where openListen is.
   */
  openConversation?(options?: ConversationOptions): Promise<Conversation>;
  voices(model?: string): Promise<VoiceList[]>;
  transcribe(request: TranscribeRequest): Promise<TranscribeResult>;
}
