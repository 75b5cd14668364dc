import { describe, expect, it } from 'vitest';
import { chatCompletionSchema, fromChatCompletionRequest, toChatCompletionRequest } from '../../../src/api/openai/chat-request.js';
import { fromChatCompletion, toChatChunk, toChatCompletion } from '../../../src/api/openai/chat-response.js';
import { completionSchema, fromCompletionRequest, fromTextCompletion, toCompletionRequest, toTextCompletion } from '../../../src/api/openai/completions.js';
import { embeddingSchema, fromEmbeddingsList, fromEmbeddingsRequest, toEmbeddingsList, toEmbeddingsRequest } from '../../../src/api/openai/embeddings.js';
import { fromErrorBody, toOpenAIError } from '../../../src/api/openai/errors.js';
import { createGenerationStreamReader, toUsageChunk } from '../../../src/api/openai/generation-stream.js';
import { fromModelEntry, toModelEntry } from '../../../src/api/openai/models.js';
import { parseBody } from '../../../src/api/openai/schema-helpers.js';
import { fromSpeechRequest, speechSchema, toSpeechRequest } from '../../../src/api/openai/speech.js';
import { fromSpeechDelta, toSpeechDelta } from '../../../src/api/openai/speech-events.js';
import { fromTranscriptionVerbose, toTranscriptionVerbose } from '../../../src/api/openai/transcription-response.js';
import { toToolCallDeltas } from '../../../src/api/openai/tool-calls.js';
import { fromVoiceLists, toVoiceLists } from '../../../src/api/openai/voices.js';
import { AppError } from '../../../src/errors.js';
import type { ChatRequest, GenerationResult } from '../../../src/types/chat.js';
import type { TranscribeResult } from '../../../src/types/transcript.js';

/*
 * Each OpenAI shape is written once for both directions: what RemoteRuntime
 * writes, the server's schema accepts and reads back as the same core
 * value, and what the server answers, RemoteRuntime reads back.
 */

/** Through JSON, as over the wire. */
const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const envelope = { id: 'chatcmpl-1', created: 1, model: 'm' };

const result: GenerationResult = {
  model: 'm',
  text: 'Hi there',
  toolCalls: [{ id: 'c1', name: 'get', arguments: '{"a":1}' }],
  finishReason: 'tool_calls',
  usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
  timings: { firstTokenMs: 1, totalMs: 2, tokensPerSecond: 3 },
};
const { timings: _timings, ...untimed } = result;

describe('the OpenAI codec, both ways', () => {
  it('chat requests', () => {
    const request: ChatRequest = {
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get', arguments: '{}' }] },
        { role: 'tool', content: 'sunny', toolCallId: 'c1' },
      ],
      temperature: 0.5,
      topP: 0.9,
      seed: 7,
      maxTokens: 10,
      stop: ['END'],
      responseFormat: { type: 'json_schema', schema: { type: 'object' }, name: 'answer' },
      tools: [{ name: 'get', description: 'gets', parameters: { type: 'object' } }],
      toolChoice: { name: 'get' },
    };
    expect(fromChatCompletionRequest(parseBody(chatCompletionSchema, wire(toChatCompletionRequest(request))))).toEqual({ ...request, messages: request.messages });
  });

  it('chat answers, whole and streamed', () => {
    expect(fromChatCompletion(wire(toChatCompletion(envelope, result)), 'x')).toEqual(untimed);
    const reader = createGenerationStreamReader('chat', 'x');
    const chunks = [
      toChatChunk(envelope, { role: 'assistant', content: '' }, null, true),
      toChatChunk(envelope, { content: 'Hi' }, null, true),
      toChatChunk(envelope, { content: ' there' }, null, true),
      toChatChunk(envelope, { tool_calls: toToolCallDeltas(result.toolCalls!) }, null, true),
      toChatChunk(envelope, {}, 'tool_calls', true),
      toUsageChunk(envelope, 'chat.completion.chunk', result.usage),
    ];
    expect(chunks.map((chunk) => reader.push(wire(chunk)))).toEqual(['', 'Hi', ' there', '', '', '']);
    expect(reader.result()).toEqual(untimed);
  });

  it('text completions', () => {
    const request = { model: 'm', prompt: 'Once', maxTokens: 4, onToken: () => {} };
    const body = wire(toCompletionRequest(request));
    expect(body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    // The core's defaults (greedy) go explicitly: a server's own are OpenAI's (temperature 1).
    expect(fromCompletionRequest(parseBody(completionSchema, body))).toEqual({ model: 'm', prompt: 'Once', maxTokens: 4, temperature: 0, topP: 0.95, seed: undefined, stop: undefined });
    expect(fromTextCompletion(wire(toTextCompletion(envelope, 'upon', 'length', result.usage)), 'x')).toEqual({ model: 'm', text: 'upon', finishReason: 'length', usage: result.usage });
  });

  it('embeddings, float and base64', () => {
    const request = { model: 'e', input: ['a', 'b'] };
    const body = parseBody(embeddingSchema, wire(toEmbeddingsRequest(request)));
    expect(fromEmbeddingsRequest(body)).toEqual(request);
    const made = { model: 'e', embeddings: [[0.5, -1], [0.25, 2]], usage: { promptTokens: 2, totalTokens: 2 } };
    expect(fromEmbeddingsList(wire(toEmbeddingsList(made, body)), 'x')).toEqual(made);
    expect(fromEmbeddingsList(wire(toEmbeddingsList(made, { ...body, encoding_format: 'base64' })), 'x')).toEqual(made);
    expect(() => toEmbeddingsList(made, { ...body, dimensions: 3 })).toThrow(/2-dimensional/);
  });

  it('speech requests and events', () => {
    const body = parseBody(speechSchema, wire(toSpeechRequest({ model: 'v', text: 'Hi.', voice: 'amy', speed: 1.2 }, { format: 'pcm', stream: 'sse', sampleRate: 'native' })));
    expect(fromSpeechRequest(body)).toEqual({ request: { model: 'v', text: 'Hi.', voice: 'amy', speed: 1.2 }, format: 'pcm', sse: true });
    expect(fromSpeechRequest(parseBody(speechSchema, { input: 'Hi.', response_format: 'pcm' }))).toMatchObject({ format: 'pcm', sse: false, outputRate: 24000 });
    expect(fromSpeechRequest(parseBody(speechSchema, { input: 'Hi.' }))).toMatchObject({ format: 'mp3' });
    expect(fromSpeechRequest(parseBody(speechSchema, { input: 'Hi.' })).outputRate).toBeUndefined();
    expect(() => fromSpeechRequest(parseBody(speechSchema, { input: 'Hi.', response_format: 'aac' }))).toThrow(/mp3, opus, flac, wav, pcm/);
    const bytes = Uint8Array.from([1, 2, 3, 250]);
    expect(fromSpeechDelta(wire(toSpeechDelta(bytes, 'Hi.')))).toEqual({ audio: Buffer.from(bytes), text: 'Hi.' });
    const voices = [{ model: 'v', voices: [{ name: 'amy', id: 0 }], defaultVoice: 'amy' }, { model: 'w', voices: [] }];
    expect(fromVoiceLists(wire(toVoiceLists(voices)))).toEqual(voices);
  });

  it('verbose transcripts, models and errors', () => {
    const transcript: TranscribeResult = {
      model: 'asr',
      text: 'yes no',
      language: 'en',
      duration: 2,
      segments: [
        { id: 0, start: 0, end: 1, text: 'yes', words: [{ word: 'yes', start: 0.1, end: 0.5 }] },
        { id: 1, start: 1, end: 2, text: 'no', words: [{ word: 'no', start: 1.2, end: 1.6 }] },
      ],
      timings: { totalMs: 1, realTimeFactor: 0.5 },
    };
    const { model: _model, timings: _t, ...rest } = transcript;
    expect(fromTranscriptionVerbose(wire(toTranscriptionVerbose(transcript, 'transcribe', ['segment', 'word'])))).toEqual(rest);
    expect(fromModelEntry(wire(toModelEntry({ name: 'qwen', kind: 'llm', pulledAt: '2024-01-02T03:04:05.000Z' })))).toEqual({ name: 'qwen', kind: 'llm', pulledAt: '2024-01-02T03:04:05.000Z' });
    const error = new AppError('model_not_downloaded', "'q' is not downloaded.", { hint: 'Run `murmur pull q`.', param: 'model' });
    const { status, body } = toOpenAIError(error);
    expect({ status, code: body.error.code }).toEqual({ status: 404, code: 'model_not_found' });
    expect(fromErrorBody(status, wire(body))).toMatchObject({ code: 'model_not_found', message: error.message, hint: error.hint, param: 'model' });
    expect(fromErrorBody(401, wire(toOpenAIError(new AppError('unauthorized', 'no')).body)).code).toBe('unauthorized');
    expect(fromErrorBody(400, { error: { message: 'x', code: 'constructor' } }).code).toBe('invalid_request');
  });
});
