import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.js';
import { toolGrammar } from './json-schema.js';
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelFunctions, ChatModelResponse } from 'node-llama-cpp';
import type { ChatMessage, ChatRequest, FinishReason, ToolCall } from '../../types/chat.js';

/**
 * Pure conversions between the Runtime's chat shapes and node-llama-cpp's
 * (type imports only: nothing native is loaded here).
 */

const parseArguments = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const toFunctionCall = (call: ToolCall, result: string | undefined): ChatModelFunctionCall => ({
  type: 'functionCall',
  name: call.name,
  params: parseArguments(call.arguments),
  result: result === undefined ? '' : parseArguments(result),
});

/**
 * Turns OpenAI-style messages into node-llama-cpp's chat history. Tool
 * results (role 'tool') are folded into the assistant turn that called them;
 * the history always ends with a model turn for the reply to fill.
 */
export const toChatHistory = (messages: readonly ChatMessage[]): ChatHistoryItem[] => {
  const results = new Map<string, string>();
  for (const message of messages) {
    if (message.role === 'tool' && message.toolCallId) results.set(message.toolCallId, message.content);
  }
  const answered = new Set<string>();
  for (const message of messages) for (const call of message.toolCalls ?? []) answered.add(call.id);

  const history: ChatHistoryItem[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        history.push({ type: 'system', text: message.content });
        break;
      case 'user':
        history.push({ type: 'user', text: message.content });
        break;
      case 'assistant': {
        const response: ChatModelResponse['response'] = [];
        if (message.content) response.push(message.content);
        for (const call of message.toolCalls ?? []) response.push(toFunctionCall(call, results.get(call.id)));
        history.push({ type: 'model', response });
        break;
      }
      case 'tool':
        // A result whose call is not in the history still reaches the model, as text.
        if (!message.toolCallId || !answered.has(message.toolCallId)) {
          history.push({ type: 'user', text: `Tool result: ${message.content}` });
        }
        break;
    }
  }
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
};

/** The functions node-llama-cpp may call, or undefined when none apply. */
export const toFunctions = (
  tools: ChatRequest['tools'],
  toolChoice: ChatRequest['toolChoice'],
): ChatModelFunctions | undefined => {
  if (!tools?.length || toolChoice === 'none') return undefined;
  const chosen = typeof toolChoice === 'object' ? tools.filter((t) => t.name === toolChoice.name) : tools;
  if (!chosen.length) return undefined;
  const functions: Record<string, ChatModelFunctions[string]> = {};
  for (const tool of chosen) {
    // node-llama-cpp throws on other names (a 500 once): whatever door the tools came through, they are refused here.
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) {
      throw new AppError('invalid_request', `The tool name '${tool.name.slice(0, 80)}' must be 1 to 64 letters, digits, underscores or dashes.`, { param: `tools[${tools.indexOf(tool)}].function.name` });
    }
    functions[tool.name] = {
      description: tool.description,
      // node-llama-cpp takes a GBNF-able subset of JSON Schema; an object schema is the common case.
      // As the grammar can hold it (bounds made enums, refs inlined); a schema no value satisfies is a 400 naming the tool.
      params: tool.parameters ? (toolGrammar(tool, tools.indexOf(tool)) as ChatModelFunctions[string]['params']) : undefined,
    };
  }
  return functions;
};

/** An OpenAI-style tool call id. */
export const newToolCallId = (): string => `call_${randomBytes(12).toString('base64url')}`;

/** Maps node-llama-cpp's stop reason onto the OpenAI finish reason. */
export const toFinishReason = (stopReason: string, hasToolCalls = false): FinishReason => {
  if (hasToolCalls || stopReason === 'functionCalls') return 'tool_calls';
  if (stopReason === 'maxTokens') return 'length';
  return 'stop';
};
