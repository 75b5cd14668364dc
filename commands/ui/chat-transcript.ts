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

/** What /help shows. */
export const chatHelp = [
  'Commands:',
  '  /clear          forget the conversation (the system prompt stays)',
  '  /system TEXT    set the system prompt (/system alone shows it, /system - removes it)',
  '  /model NAME     talk to another installed model',
  '  /save FILE      write the conversation to FILE (.json as JSON, anything else as markdown)',
  '  /help           this list',
  '  /exit           leave (also /quit, Ctrl-D, or Ctrl-C twice)',
  'Keys:',
  '  Enter           send',
  '  \\ then Enter    new line (a line ending with a backslash continues); Alt+Enter or Ctrl-J also work',
  '  Up/Down         move between lines, or recall earlier messages',
  '  Ctrl-C          stop the reply; when idle, press twice to leave',
].join('\n');
