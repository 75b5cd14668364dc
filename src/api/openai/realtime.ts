import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ChatRequest, ToolDefinition } from '../../types/chat.js';
import { toOpenAIError } from './errors.js';

/*
 * OpenAI's Realtime API (`GET /v1/realtime`, a WebSocket), both dialects,
 * as wire shapes only: the client events a socket may send, parsed and
 * checked into one session configuration; and the server events, named and
 * shaped for the GA dialect or, for clients that send
 * `OpenAI-Beta: realtime=v1`, the beta one (`response.audio.delta`, flat
 * session fields). The route (server/routes/realtime.ts) drives a core
 * conversation with them; nothing here knows about engines or sockets.
 */

export type Dialect = 'ga' | 'beta';
/** The audio encodings a realtime session takes and gives: 16-bit PCM at 24 kHz, or G.711 µ-law / A-law at 8 kHz. */
export type RealtimeAudioFormat = 'pcm' | 'pcmu' | 'pcma';
export const RATE_OF: Record<RealtimeAudioFormat, number> = { pcm: 24_000, pcmu: 8000, pcma: 8000 };

export interface RealtimeTurnDetection {
  readonly threshold: number;
  readonly prefixPaddingMs: number;
  readonly silenceDurationMs: number;
  readonly createResponse: boolean;
  readonly interruptResponse: boolean;
}

/** A session's settings, as both dialects set them. */
export interface RealtimeConfig {
  readonly type: 'realtime' | 'transcription';
  /** The chat model (realtime sessions). */
  readonly model?: string;
  readonly instructions: string;
  readonly outputModalities: readonly ('audio' | 'text')[];
  readonly tools: readonly ToolDefinition[];
  readonly toolChoice: NonNullable<ChatRequest['toolChoice']>;
  /** Tokens a reply may have at most; undefined is OpenAI's "inf". */
  readonly maxOutputTokens?: number;
  readonly temperature?: number;
  readonly inputFormat: RealtimeAudioFormat;
  readonly outputFormat: RealtimeAudioFormat;
  /** The speech-to-text model (an OpenAI name means the default), the language and a prompt; null: no transcription. */
  readonly transcription: { readonly model?: string; readonly language?: string; readonly prompt?: string } | null;
  /** server_vad's parameters; null: turns end on input_audio_buffer.commit. */
  readonly turnDetection: RealtimeTurnDetection | null;
  readonly voice?: string;
  readonly speed?: number;
  /** murmur's: the voice model (`audio.output.model`; default MURMUR_TTS_MODEL or the catalog's). */
  readonly ttsModel?: string;
  /** murmur's: the voice-activity model (`audio.input.turn_detection.model`; default the installed one). */
  readonly vadModel?: string;
}

export const DEFAULT_TURN: RealtimeTurnDetection = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500, createResponse: true, interruptResponse: true };

export const defaultConfig = (type: RealtimeConfig['type'], model?: string): RealtimeConfig => ({
  type,
  ...(model ? { model } : {}),
  instructions: '',
  outputModalities: type === 'transcription' ? ['text'] : ['audio'],
  tools: [],
  toolChoice: 'auto',
  inputFormat: 'pcm',
  outputFormat: 'pcm',
  transcription: {},
  turnDetection: DEFAULT_TURN,
});

/* ---------- client events ---------- */

const eventId = z.string().max(512).optional();
const maxTokens = z.union([z.number().int().min(1).max(1_000_000), z.literal('inf')]);
const modalities = z.array(z.enum(['audio', 'text'])).min(1);
/*
 * Session objects are strict: a field murmur does not know is an error naming it, never dropped in silence.
 * OpenAI fields that change nothing here (tracing, truncation, the ids a client echoes back…) are taken as such.
 */
const ignored = z.unknown().optional();
const formatGa = z.object({ type: z.enum(['audio/pcm', 'audio/pcmu', 'audio/pcma']).optional(), rate: z.number().optional() }).strict();
const formatBeta = z.enum(['pcm16', 'g711_ulaw', 'g711_alaw']);
const transcription = z.object({ model: z.string().min(1).max(256).optional(), language: z.string().max(32).optional(), prompt: z.string().max(10_000).optional() }).strict();
const turnDetection = z
  .object({
    type: z.enum(['server_vad', 'semantic_vad']).optional(),
    threshold: z.number().min(0).max(1).optional(),
    prefix_padding_ms: z.number().int().min(0).max(10_000).optional(),
    silence_duration_ms: z.number().int().min(0).max(10_000).optional(),
    create_response: z.boolean().optional(),
    interrupt_response: z.boolean().optional(),
    model: z.string().min(1).max(256).optional(),
    idle_timeout_ms: ignored,
    eagerness: ignored,
  })
  .strict()
  .nullable();
const tool = z.object({ type: z.literal('function').optional(), name: z.string().min(1).max(128), description: z.string().max(10_000).optional(), parameters: z.record(z.string(), z.unknown()).optional() }).passthrough();
const toolChoice = z.union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), name: z.string().min(1) }).passthrough()]);
const voice = z.union([z.string().min(1).max(256), z.object({ id: z.string().min(1).max(256) })]);

/** A GA session: nested audio settings. Unknown fields (tracing, truncation, prompt…) are taken and ignored. */
const sessionGa = z
  .object({
    type: z.enum(['realtime', 'transcription']).optional(),
    model: z.string().min(1).max(256).optional(),
    instructions: z.string().max(200_000).optional(),
    output_modalities: modalities.optional(),
    tools: z.array(tool).max(128).optional(),
    tool_choice: toolChoice.optional(),
    max_output_tokens: maxTokens.optional(),
    temperature: z.number().min(0).max(2).optional(),
    audio: z
      .object({
        input: z.object({ format: formatGa.optional(), transcription: transcription.nullable().optional(), turn_detection: turnDetection.optional(), noise_reduction: ignored }).strict().optional(),
        output: z.object({ format: formatGa.optional(), voice: voice.optional(), speed: z.number().min(0.25).max(4).optional(), model: z.string().min(1).max(256).optional() }).strict().optional(),
      })
      .strict()
      .optional(),
    id: ignored,
    object: ignored,
    expires_at: ignored,
    tracing: ignored,
    truncation: ignored,
    prompt: ignored,
    include: ignored,
    client_secret: ignored,
  })
  .strict();

/** A beta session: flat fields. */
const sessionBeta = z
  .object({
    model: z.string().min(1).max(256).optional(),
    modalities: modalities.optional(),
    instructions: z.string().max(200_000).optional(),
    voice: voice.optional(),
    speed: z.number().min(0.25).max(4).optional(),
    input_audio_format: formatBeta.optional(),
    output_audio_format: formatBeta.optional(),
    input_audio_transcription: transcription.nullable().optional(),
    turn_detection: turnDetection.optional(),
    tools: z.array(tool).max(128).optional(),
    tool_choice: toolChoice.optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_response_output_tokens: maxTokens.optional(),
    id: ignored,
    object: ignored,
    expires_at: ignored,
    input_audio_noise_reduction: ignored,
    tracing: ignored,
    include: ignored,
    client_secret: ignored,
  })
  .strict();

const content = z
  .object({ type: z.enum(['input_text', 'input_audio', 'text', 'output_text', 'output_audio', 'audio', 'input_image']), text: z.string().max(200_000).optional(), transcript: z.string().max(200_000).nullable().optional(), audio: z.string().optional() })
  .passthrough();
const item = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), id: z.string().min(1).max(64).optional(), role: z.enum(['user', 'assistant', 'system']), content: z.array(content).min(1).max(64) }).passthrough(),
  z.object({ type: z.literal('function_call_output'), id: z.string().min(1).max(64).optional(), call_id: z.string().min(1).max(128), output: z.string().max(200_000) }).passthrough(),
  z.object({ type: z.literal('function_call'), id: z.string().min(1).max(64).optional(), call_id: z.string().min(1).max(128).optional(), name: z.string().min(1).max(128), arguments: z.string().max(200_000) }).passthrough(),
]);

const responseParams = z
  .object({
    instructions: z.string().max(200_000).optional(),
    output_modalities: modalities.optional(),
    modalities: modalities.optional(),
    tools: z.array(tool).max(128).optional(),
    tool_choice: toolChoice.optional(),
    max_output_tokens: maxTokens.optional(),
    max_response_output_tokens: maxTokens.optional(),
    temperature: z.number().min(0).max(2).optional(),
    conversation: z.enum(['auto', 'none']).optional(),
    voice: voice.optional(),
    audio: z.object({ output: z.object({ voice: voice.optional(), format: formatGa.optional() }).passthrough().optional() }).passthrough().optional(),
  })
  .passthrough();

const clientEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session.update'), event_id: eventId, session: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('transcription_session.update'), event_id: eventId, session: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('input_audio_buffer.append'), event_id: eventId, audio: z.string() }),
  z.object({ type: z.literal('input_audio_buffer.commit'), event_id: eventId }),
  z.object({ type: z.literal('input_audio_buffer.clear'), event_id: eventId }),
  z.object({ type: z.literal('output_audio_buffer.clear'), event_id: eventId }),
  z.object({ type: z.literal('conversation.item.create'), event_id: eventId, previous_item_id: z.string().max(64).nullable().optional(), item }),
  z.object({ type: z.literal('conversation.item.delete'), event_id: eventId, item_id: z.string().min(1).max(64) }),
  z.object({ type: z.literal('conversation.item.retrieve'), event_id: eventId, item_id: z.string().min(1).max(64) }),
  z.object({ type: z.literal('conversation.item.truncate'), event_id: eventId, item_id: z.string().min(1).max(64), content_index: z.number().int().min(0), audio_end_ms: z.number().int().min(0) }),
  z.object({ type: z.literal('response.create'), event_id: eventId, response: responseParams.optional() }),
  z.object({ type: z.literal('response.cancel'), event_id: eventId, response_id: z.string().optional() }),
]);
export type RealtimeClientEvent = z.infer<typeof clientEvent>;
export type RealtimeItem = z.infer<typeof item>;
export type ResponseParams = z.infer<typeof responseParams>;

const eventTypes = clientEvent.options.map((o) => o.shape.type.value);

/** Why a parse failed, naming the field (OpenAI's `param`) and the client's event id. */
const invalid = (message: string, param: string | undefined, clientEventId: string | undefined, hint?: string) =>
  Object.assign(new AppError('invalid_request', message, { ...(param ? { param } : {}), ...(hint ? { hint } : {}) }), clientEventId ? { eventId: clientEventId } : {});

const issueOf = (error: z.ZodError, prefix = '') => {
  const issue = error.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  return { path, message: issue.message };
};

/** Parses one text frame into a client event; AppError('invalid_request') naming what is wrong (the socket stays open). */
export const fromClientEvent = (data: string): RealtimeClientEvent => {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    throw invalid('The event is not JSON.', undefined, undefined, 'Send JSON text frames such as {"type":"input_audio_buffer.append","audio":"<base64>"}.');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('An event must be a JSON object with a "type".', 'type', undefined);
  const id = typeof (raw as { event_id?: unknown }).event_id === 'string' ? ((raw as { event_id: string }).event_id) : undefined;
  const type = (raw as { type?: unknown }).type;
  if (type === undefined) throw invalid('The event has no "type".', 'type', id);
  if (typeof type !== 'string' || !eventTypes.includes(type as never)) {
    throw invalid(`Unknown event type ${JSON.stringify(type)}; known: ${eventTypes.join(', ')}.`, 'type', id);
  }
  const parsed = clientEvent.safeParse(raw);
  if (!parsed.success) {
    const { path, message } = issueOf(parsed.error);
    throw invalid(`Invalid '${path || 'event'}' in ${type}: ${message}.`, path || undefined, id);
  }
  return parsed.data;
};

/** The client event id an error answers, when the event had one. */
export const clientEventIdOf = (error: unknown): string | undefined => (error instanceof AppError ? (error as { eventId?: string }).eventId : undefined);

const formatOfGa = (format: z.infer<typeof formatGa> | undefined, param: string): RealtimeAudioFormat | undefined => {
  if (!format) return undefined;
  const kind = format.type === 'audio/pcmu' ? 'pcmu' : format.type === 'audio/pcma' ? 'pcma' : 'pcm';
  if (kind === 'pcm' && format.rate !== undefined && format.rate !== 24_000) {
    throw invalid(`audio/pcm is taken at 24000 Hz, not ${format.rate}.`, `${param}.rate`, undefined, 'Resample to 24 kHz, or send audio/pcmu or audio/pcma (8 kHz).');
  }
  return kind;
};
const formatOfBeta = (format: z.infer<typeof formatBeta> | undefined): RealtimeAudioFormat | undefined =>
  format === undefined ? undefined : format === 'g711_ulaw' ? 'pcmu' : format === 'g711_alaw' ? 'pcma' : 'pcm';
const turnOf = (raw: z.infer<typeof turnDetection> | undefined, previous: RealtimeTurnDetection | null): RealtimeTurnDetection | null | undefined => {
  if (raw === undefined) return undefined;
  if (raw === null) return null;
  const base = previous ?? DEFAULT_TURN;
  return {
    threshold: raw.threshold ?? base.threshold,
    prefixPaddingMs: raw.prefix_padding_ms ?? base.prefixPaddingMs,
    silenceDurationMs: raw.silence_duration_ms ?? base.silenceDurationMs,
    createResponse: raw.create_response ?? base.createResponse,
    interruptResponse: raw.interrupt_response ?? base.interruptResponse,
  };
};
const toolsOf = (tools: z.infer<typeof tool>[] | undefined): ToolDefinition[] | undefined =>
  tools?.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) }));
const toolChoiceOf = (choice: z.infer<typeof toolChoice> | undefined): RealtimeConfig['toolChoice'] | undefined =>
  choice === undefined ? undefined : typeof choice === 'string' ? choice : { name: choice.name };
const voiceOf = (v: z.infer<typeof voice> | undefined) => (v === undefined ? undefined : typeof v === 'string' ? v : v.id);
const tokensOf = (value: number | 'inf' | undefined, previous: number | undefined): number | undefined => (value === undefined ? previous : value === 'inf' ? undefined : value);

/** Drops the keys whose value is undefined. */
const defined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** A session.update's fields, as either dialect writes them, in one shape. */
interface SessionFields {
  readonly model?: string;
  readonly instructions?: string;
  readonly modalities?: readonly ('audio' | 'text')[];
  readonly tools?: z.infer<typeof tool>[];
  readonly toolChoice?: z.infer<typeof toolChoice>;
  readonly maxTokens?: number | 'inf';
  readonly temperature?: number;
  readonly inputFormat?: RealtimeAudioFormat;
  readonly outputFormat?: RealtimeAudioFormat;
  readonly transcription?: z.infer<typeof transcription> | null;
  readonly turnDetection?: z.infer<typeof turnDetection>;
  readonly voice?: z.infer<typeof voice>;
  readonly speed?: number;
  readonly ttsModel?: string;
}

/** The fields of one dialect's session object; AppError naming the first bad one. */
const sessionFieldsOf = (config: RealtimeConfig, session: Record<string, unknown>, dialect: Dialect, clientEventId?: string): SessionFields => {
  const parsed = (dialect === 'beta' ? sessionBeta : sessionGa).safeParse(session);
  if (!parsed.success) {
    const { path, message } = issueOf(parsed.error, 'session');
    throw invalid(`Invalid '${path}' in session.update: ${message}.`, path, clientEventId);
  }
  if (dialect === 'beta') {
    const s = parsed.data as z.infer<typeof sessionBeta>;
    return { model: s.model, instructions: s.instructions, modalities: s.modalities, tools: s.tools, toolChoice: s.tool_choice, maxTokens: s.max_response_output_tokens, temperature: s.temperature, inputFormat: formatOfBeta(s.input_audio_format), outputFormat: formatOfBeta(s.output_audio_format), transcription: s.input_audio_transcription, turnDetection: s.turn_detection, voice: s.voice, speed: s.speed };
  }
  const s = parsed.data as z.infer<typeof sessionGa>;
  if (s.type && s.type !== config.type) {
    throw invalid(`This is a ${config.type} session; session.type cannot become '${s.type}'.`, 'session.type', clientEventId, s.type === 'transcription' ? 'Open a transcription session with ?intent=transcription.' : 'Open a realtime session with ?model=CHAT_MODEL.');
  }
  const input = s.audio?.input;
  const output = s.audio?.output;
  return {
    model: s.model,
    instructions: s.instructions,
    modalities: s.output_modalities,
    tools: s.tools,
    toolChoice: s.tool_choice,
    maxTokens: s.max_output_tokens,
    temperature: s.temperature,
    inputFormat: formatOfGa(input?.format, 'session.audio.input.format'),
    outputFormat: formatOfGa(output?.format, 'session.audio.output.format'),
    transcription: input?.transcription,
    turnDetection: input?.turn_detection,
    voice: output?.voice,
    speed: output?.speed,
    ttsModel: output?.model,
  };
};

/**
 * Applies a `session.update`'s session (GA or beta fields, as the dialect
 * reads them) to `config`; AppError('invalid_request') for a bad field, and
 * `config` is left as it was.
 */
export const applySessionUpdate = (config: RealtimeConfig, session: Record<string, unknown>, dialect: Dialect, clientEventId?: string): RealtimeConfig => {
  try {
    const f = sessionFieldsOf(config, session, dialect, clientEventId);
    const turn = turnOf(f.turnDetection, config.turnDetection);
    return defined({
      ...config,
      model: f.model ?? config.model,
      instructions: f.instructions ?? config.instructions,
      outputModalities: f.modalities ? (f.modalities.includes('audio') ? ['audio'] : ['text']) : config.outputModalities,
      tools: toolsOf(f.tools) ?? config.tools,
      toolChoice: toolChoiceOf(f.toolChoice) ?? config.toolChoice,
      maxOutputTokens: tokensOf(f.maxTokens, config.maxOutputTokens),
      temperature: f.temperature ?? config.temperature,
      inputFormat: f.inputFormat ?? config.inputFormat,
      outputFormat: f.outputFormat ?? config.outputFormat,
      transcription: f.transcription === undefined ? config.transcription : f.transcription && defined({ model: f.transcription.model, language: f.transcription.language, prompt: f.transcription.prompt }),
      turnDetection: turn === undefined ? config.turnDetection : turn,
      voice: voiceOf(f.voice) ?? config.voice,
      speed: f.speed ?? config.speed,
      ttsModel: f.ttsModel ?? config.ttsModel,
      vadModel: f.turnDetection?.model ?? config.vadModel,
    });
  } catch (error) {
    if (error instanceof AppError && clientEventId && !clientEventIdOf(error)) throw invalid(error.message, error.param, clientEventId, error.hint);
    throw error;
  }
};

/* ---------- audio in ---------- */

/** The largest append: 15 MiB of base64, the limit OpenAI states per event. */
export const MAX_EVENT_BYTES = 15 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes an append's base64 audio into bytes; AppError naming what is wrong. */
export const audioBytesOf = (audio: string, format: RealtimeAudioFormat, clientEventId?: string): Buffer => {
  const clean = audio.replace(/\s+/g, '');
  if (!BASE64.test(clean) || clean.length % 4 === 1) throw invalid("'audio' is not base64.", 'audio', clientEventId, 'Send the audio bytes base64-encoded.');
  const bytes = Buffer.from(clean, 'base64');
  if (format === 'pcm' && bytes.length % 2 !== 0) {
    throw invalid(`'audio' holds ${bytes.length} bytes, not whole 16-bit samples.`, 'audio', clientEventId, 'audio/pcm is 16-bit little-endian mono at 24 kHz: send an even number of bytes.');
  }
  return bytes;
};

/* ---------- server events ---------- */

export type ServerEvent = Record<string, unknown> & { type: string };

/** The beta dialect's names for the GA events that were renamed. */
const BETA_NAMES: Record<string, string> = {
  'response.output_audio.delta': 'response.audio.delta',
  'response.output_audio.done': 'response.audio.done',
  'response.output_audio_transcript.delta': 'response.audio_transcript.delta',
  'response.output_audio_transcript.done': 'response.audio_transcript.done',
  'response.output_text.delta': 'response.text.delta',
  'response.output_text.done': 'response.text.done',
  'conversation.item.added': 'conversation.item.created',
};
/** The beta dialect's content part types for GA's. */
const BETA_PARTS: Record<string, string> = { output_audio: 'audio', output_text: 'text' };

export const eventName = (type: string, dialect: Dialect) => (dialect === 'beta' ? (BETA_NAMES[type] ?? type) : type);

const formatGaOf = (format: RealtimeAudioFormat) => (format === 'pcm' ? { type: 'audio/pcm', rate: 24_000 } : { type: `audio/${format}` });
const formatBetaOf = (format: RealtimeAudioFormat) => (format === 'pcm' ? 'pcm16' : format === 'pcmu' ? 'g711_ulaw' : 'g711_alaw');
const turnOut = (turn: RealtimeTurnDetection | null) =>
  turn && { type: 'server_vad', threshold: turn.threshold, prefix_padding_ms: turn.prefixPaddingMs, silence_duration_ms: turn.silenceDurationMs, create_response: turn.createResponse, interrupt_response: turn.interruptResponse, idle_timeout_ms: null };
const transcriptionOut = (config: RealtimeConfig, asrModel: string | undefined) =>
  config.transcription && { model: config.transcription.model ?? asrModel ?? null, language: config.transcription.language ?? null, prompt: config.transcription.prompt ?? '' };
const toolsOut = (tools: readonly ToolDefinition[]) => tools.map((t) => ({ type: 'function', name: t.name, description: t.description ?? '', parameters: t.parameters ?? {} }));
const toolChoiceOut = (choice: RealtimeConfig['toolChoice']) => (typeof choice === 'string' ? choice : { type: 'function', name: choice.name });

/** What the session resolved to (the models and voice in use), shown in session.created and .updated. */
export interface SessionFacts {
  readonly id: string;
  readonly asrModel?: string;
  readonly voice?: string;
  readonly ttsModel?: string;
  readonly expiresAt: number;
}

/** The session object in session.created / session.updated. */
export const sessionOf = (config: RealtimeConfig, facts: SessionFacts, dialect: Dialect) => {
  if (dialect === 'beta') {
    return {
      id: facts.id,
      object: config.type === 'transcription' ? 'realtime.transcription_session' : 'realtime.session',
      model: config.model ?? null,
      expires_at: facts.expiresAt,
      modalities: config.outputModalities.includes('audio') ? ['audio', 'text'] : ['text'],
      instructions: config.instructions,
      voice: facts.voice ?? config.voice ?? null,
      speed: config.speed ?? 1,
      input_audio_format: formatBetaOf(config.inputFormat),
      output_audio_format: formatBetaOf(config.outputFormat),
      input_audio_transcription: transcriptionOut(config, facts.asrModel),
      turn_detection: turnOut(config.turnDetection),
      tools: toolsOut(config.tools),
      tool_choice: toolChoiceOut(config.toolChoice),
      temperature: config.temperature ?? 0.8,
      max_response_output_tokens: config.maxOutputTokens ?? 'inf',
    };
  }
  const input = { format: formatGaOf(config.inputFormat), transcription: transcriptionOut(config, facts.asrModel), turn_detection: turnOut(config.turnDetection), noise_reduction: null };
  if (config.type === 'transcription') {
    return { type: 'transcription', id: facts.id, object: 'realtime.transcription_session', expires_at: facts.expiresAt, audio: { input }, include: null };
  }
  return {
    type: 'realtime',
    id: facts.id,
    object: 'realtime.session',
    model: config.model ?? null,
    expires_at: facts.expiresAt,
    output_modalities: [...config.outputModalities],
    instructions: config.instructions,
    tools: toolsOut(config.tools),
    tool_choice: toolChoiceOut(config.toolChoice),
    max_output_tokens: config.maxOutputTokens ?? 'inf',
    audio: { input, output: { format: formatGaOf(config.outputFormat), voice: facts.voice ?? config.voice ?? null, speed: config.speed ?? 1, ...(facts.ttsModel ? { model: facts.ttsModel } : {}) } },
    tracing: null,
    truncation: 'auto',
    prompt: null,
    include: null,
  };
};

/** The session event names: a beta transcription session has its own. */
export const sessionEventName = (kind: 'created' | 'updated', config: RealtimeConfig, dialect: Dialect) =>
  dialect === 'beta' && config.type === 'transcription' ? `transcription_session.${kind}` : `session.${kind}`;

/** A content part, as the dialect names its type. */
export const partOf = (part: { type: 'output_audio' | 'output_text' | 'input_text' | 'input_audio'; text?: string; transcript?: string | null }, dialect: Dialect) =>
  dialect === 'beta' && BETA_PARTS[part.type] ? { ...part, type: BETA_PARTS[part.type] } : part;

/** A conversation item as the API shows it. */
export type ItemView =
  | { readonly kind: 'message'; readonly id: string; readonly role: 'user' | 'assistant' | 'system'; readonly status: 'completed' | 'incomplete' | 'in_progress'; readonly content: readonly Parameters<typeof partOf>[0][] }
  | { readonly kind: 'function_call'; readonly id: string; readonly status: 'completed' | 'in_progress'; readonly callId: string; readonly name: string; readonly arguments: string }
  | { readonly kind: 'function_call_output'; readonly id: string; readonly callId: string; readonly output: string };

export const itemOf = (view: ItemView, dialect: Dialect) => {
  if (view.kind === 'message') return { id: view.id, type: 'message', object: 'realtime.item', status: view.status, role: view.role, content: view.content.map((p) => partOf(p, dialect)) };
  if (view.kind === 'function_call') return { id: view.id, type: 'function_call', object: 'realtime.item', status: view.status, call_id: view.callId, name: view.name, arguments: view.arguments };
  return { id: view.id, type: 'function_call_output', object: 'realtime.item', status: 'completed', call_id: view.callId, output: view.output };
};

/** An error event: OpenAI's error object, with the client event it answers and murmur's hint. */
export const errorEventOf = (error: unknown, clientEventId?: string) => {
  const { body } = toOpenAIError(error);
  const answered = clientEventIdOf(error) ?? clientEventId;
  return { type: 'error', error: { type: body.error.type, code: body.error.code, message: body.error.message, param: body.error.param, event_id: answered ?? null, ...(body.error.hint ? { hint: body.error.hint } : {}) } };
};
