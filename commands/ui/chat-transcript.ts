import { extname } from 'node:path';
import type { ChatMessage } from '../../src/types/chat.js';

/** A conversation as `/save` writes it. */
export interface Transcript {
  readonly model: string;
  readonly system?: string;
  readonly messages: readonly ChatMessage[];
}

export type TranscriptFormat = 'json' | 'markdown';

/** JSON for a `.json` file, markdown for anything else (`.md`, `.txt`, no extension). */
export const transcriptFormatFor = (path: string): TranscriptFormat =>
  extname(path).toLowerCase() === '.json' ? 'json' : 'markdown';

const heading: Record<string, string> = { user: 'You', assistant: 'Assistant', system: 'System', tool: 'Tool' };

/** The transcript as text: JSON (`{model, system, messages:[{role, content}]}`) or markdown. */
export const formatTranscript = (transcript: Transcript, format: TranscriptFormat): string => {
  if (format === 'json') {
    const body = {
      model: transcript.model,
      ...(transcript.system ? { system: transcript.system } : {}),
      messages: transcript.messages.map(({ role, content }) => ({ role, content })),
    };
    return `${JSON.stringify(body, null, 2)}\n`;
  }
  const parts = [`# Chat with ${transcript.model}`];
  if (transcript.system) parts.push(`## ${heading.system}\n\n${transcript.system}`);
  for (const message of transcript.messages) parts.push(`## ${heading[message.role] ?? message.role}\n\n${message.content}`);
  return `${parts.join('\n\n')}\n`;
};

const roleOf: Record<string, ChatMessage['role']> = { you: 'user', assistant: 'assistant', system: 'system', tool: 'tool' };

/**
 * A conversation `/save` wrote, read back for `/load`: its JSON, or its
 * markdown (`# Chat with MODEL`, then `## System`, `## You`, `## Assistant`
 * sections). Throws an Error saying what is wrong with the text.
 */
export const parseTranscript = (text: string, format: TranscriptFormat): Transcript => {
  if (format === 'json') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('it is not valid JSON');
    }
    const { model, system, messages } = (body ?? {}) as Record<string, unknown>;
    const valid = Array.isArray(messages) && messages.every((m) => typeof m?.content === 'string' && ['user', 'assistant', 'system', 'tool'].includes(m?.role));
    if (!valid) throw new Error('it holds no "messages" list of {role, content}');
    return {
      model: typeof model === 'string' ? model : '',
      ...(typeof system === 'string' && system ? { system } : {}),
      messages: (messages as ChatMessage[]).map(({ role, content }) => ({ role, content })),
    };
  }
  const title = /^# Chat with (.*)$/m.exec(text);
  const sections = text.split(/^## (You|Assistant|System|Tool)\n\n/m);
  if (!title || sections.length < 3) throw new Error('it is not a conversation saved by /save (no "# Chat with" title and "## You" sections)');
  let system: string | undefined;
  const messages: ChatMessage[] = [];
  for (let i = 1; i + 1 < sections.length; i += 2) {
    const role = roleOf[sections[i].toLowerCase()];
    const content = sections[i + 1].replace(/\n+$/, '');
    if (role === 'system') system = content;
    else messages.push({ role, content });
  }
  return { model: title[1].trim(), ...(system ? { system } : {}), messages };
};

/** What /help shows. */
export const chatHelp = [
  'Commands:',
  '  /clear          forget the conversation (the system prompt stays)',
  '  /system TEXT    set the system prompt (/system alone shows it, /system - removes it)',
  '  /model NAME     talk to another installed model (/model alone lists them)',
  '  /set NAME VALUE set temperature, top_p, top_k, seed or max_tokens (/set alone lists them, /set NAME resets one)',
  '  /save FILE      write the conversation to FILE (.json as JSON, anything else as markdown)',
  '  /load FILE      go on with a conversation /save wrote',
  '  /help           this list',
  '  /exit           leave (also /quit, Ctrl-D on an empty line, or Ctrl-C twice)',
  'Keys:',
  '  Enter           send',
  '  \\ then Enter    new line (a line ending with a backslash continues); Alt+Enter or Ctrl-J also work',
  '  Up/Down         move between lines, or recall earlier messages',
  '  Ctrl-C          stop the reply; when idle, press twice to leave',
].join('\n');
