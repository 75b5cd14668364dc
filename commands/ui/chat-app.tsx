import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Box, Static, Text, useApp, useInput, useStdout } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Runtime } from '../../src/runtime/types.js';
import type { ChatRequest } from '../../src/types/chat.js';
import { isAppError } from '../../src/errors.js';
import { inputView, tailRows, wrapRows, type InputRow } from './screen-fit.js';
import { chatWithinContext } from './chat-context.js';
import { appendHistory } from './chat-history.js';
import { parseTranscript, transcriptFormatFor } from './chat-transcript.js';
import { initialChatState, step, type ChatAction, type ChatEffect, type LogEntry } from './chat-state.js';
import { withArticle } from '../../src/text/article.js';

/** Sampling and format settings applied to every request of the session. */
export type ChatSettings = Omit<ChatRequest, 'model' | 'messages' | 'onToken' | 'signal'>;

export interface ChatAppProps {
  readonly runtime: Pick<Runtime, 'chat' | 'getModel' | 'countTokens' | 'listModels'>;
  readonly model: string;
  readonly system?: string;
  readonly settings?: ChatSettings;
  /** Where /save writes; relative paths resolve against this folder. */
  readonly cwd?: string;
  /** Inputs of earlier sessions, oldest first (Up recalls them). */
  readonly history?: readonly string[];
  /** Where each new input is appended (MURMUR_HOME/chat_history); none keeps no history. */
  readonly historyFile?: string;
  /** False under NO_COLOR: no colours (dim and inverse, which are not colours, stay). */
  readonly color?: boolean;
}

const describeError = (error: unknown): string => {
  // The engine's hint is for an API caller; here the way out is a slash command.
  if (isAppError(error) && error.code === 'context_length_exceeded') return `${error.message} Shorten the message, or type /clear to start a new conversation.`;
  if (isAppError(error)) return error.hint ? `${error.message} ${error.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
};

/** A file error as one line: what went wrong, not Node's errno text. */
const describeFileError = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ENOTDIR') return 'a part of the path is not a folder';
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'EROFS') return 'the file system is read-only';
  return describeError(error).replace(/^\w+: /, '');
};

const LogLine = ({ entry, color }: { entry: LogEntry; color: boolean }) => {
  switch (entry.kind) {
    case 'user':
      return (
        <Box marginTop={1}>
          <Prefix color={color ? 'cyan' : undefined}>{'› '}</Prefix>
          <Text>{entry.text}</Text>
        </Box>
      );
    case 'assistant':
      return (
        <Box flexDirection="column">
          <Text>{entry.text}</Text>
          {entry.stats ? <Text dimColor>{entry.stats}</Text> : null}
        </Box>
      );
    case 'error':
      return <Text color={color ? 'red' : undefined}>{entry.text}</Text>;
    default:
      return <Text dimColor>{entry.text}</Text>;
  }
};

/** The prompt marker (or an input line's indent), kept at its width however long the line beside it. */
const Prefix = ({ children, color, dim }: { children: string; color?: string; dim?: boolean }) => (
  <Box flexShrink={0}>
    <Text color={color} dimColor={dim}>{children}</Text>
  </Box>
);

/**
 * The input lines with the cursor drawn as an inverted cell. Each line is
 * one Text (the cursor nested in it), so a long line wraps at its words
 * rather than where the cursor splits it.
 */
const InputLines = ({ lines, busy, color }: { lines: readonly InputRow[]; busy: boolean; color: boolean }) => (
  <Box flexDirection="column">
    {lines.map((line, index) => {
      const prefix = line.first ? <Prefix color={color ? (busy ? 'gray' : 'cyan') : undefined} dim={!color && busy}>{'› '}</Prefix> : <Prefix>{'  '}</Prefix>;
      const clipped = line.clipped ? <Text dimColor>…</Text> : null;
      const at = line.cursor;
      return (
        <Box key={index}>
          {prefix}
          {at === undefined ? (
            <Text>
              {clipped}
              {line.text}
            </Text>
          ) : (
            <Text>
              {clipped}
              {line.text.slice(0, at)}
              <Text inverse>{line.text[at] ?? ' '}</Text>
              {line.text.slice(at + 1)}
            </Text>
          )}
        </Box>
      );
    })}
  </Box>
);

/**
 * The interactive chat: finished entries scroll by once (Static), the reply
 * being streamed and the input are redrawn. State changes live in
 * chat-state.ts; this component runs their effects against the Runtime.
 */
export const ChatApp = ({ runtime, model, system, settings = {}, cwd = process.cwd(), history, historyFile, color = true }: ChatAppProps) => {
  const { exit } = useApp();
  const [state, setState] = useState(() => initialChatState(model, system, { settings, history }));
  const stateRef = useRef(state);
  const controllerRef = useRef<AbortController | undefined>(undefined);
  /** Context sizes learned from the models' own errors (the Runtime does not report them). */
  const contextRef = useRef(new Map<string, number>());
  const historyFileRef = useRef(historyFile);
  historyFileRef.current = historyFile;

  // A terminal that gets narrower rewraps what ink drew, and ink then erases too few lines (ghost prompts):
  // on a resize the screen is cleared and everything drawn again.
  const { stdout } = useStdout();
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!stdout.isTTY || typeof stdout.on !== 'function') return;
    let timer: NodeJS.Timeout | undefined;
    const redraw = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stdout.write('\u001b[2J\u001b[3J\u001b[H');
        setGeneration((n) => n + 1);
      }, 50);
    };
    stdout.on('resize', redraw);
    return () => {
      clearTimeout(timer);
      stdout.off('resize', redraw);
    };
  }, [stdout]);

  const dispatch = useCallback((action: ChatAction): void => {
    const previous = stateRef.current;
    const { state: next, effects } = step(previous, action);
    stateRef.current = next;
    setState(next);
    // A new input joins the history kept between sessions.
    if (historyFileRef.current && next.history !== previous.history && next.history.length > previous.history.length) {
      void appendHistory(historyFileRef.current, next.history.at(-1)!);
    }
    for (const effect of effects) performRef.current(effect);
  }, []);

  // Tokens are drawn in batches (about 30 a second at most) so a fast model is not slowed by rendering.
  const pendingRef = useRef('');
  const timerRef = useRef<NodeJS.Timeout | undefined>(undefined);
  const flush = (): void => {
    clearTimeout(timerRef.current);
    timerRef.current = undefined;
    const text = pendingRef.current;
    pendingRef.current = '';
    if (text) dispatch({ type: 'token', text });
  };
  const queueToken = (text: string): void => {
    pendingRef.current += text;
    timerRef.current ??= setTimeout(flush, 33);
  };

  useEffect(() => () => {
    clearTimeout(timerRef.current);
    controllerRef.current?.abort(new DOMException('Stopped', 'AbortError'));
  }, []);

  const perform = (effect: ChatEffect): void => {
    switch (effect.type) {
      case 'send': {
        const controller = new AbortController();
        controllerRef.current = controller;
        const request = { ...stateRef.current.settings, model: effect.model, messages: effect.messages, signal: controller.signal, onToken: queueToken };
        void chatWithinContext(runtime, request, contextRef.current.get(effect.model))
          .finally(flush)
          .then(
            ({ result, dropped, contextSize }) => {
              if (contextSize) contextRef.current.set(effect.model, contextSize);
              if (dropped) dispatch({ type: 'trimmed', dropped, model: effect.model, contextSize });
              dispatch({
                type: 'reply-done',
                result: {
                  text: result.text,
                  tokensPerSecond: result.timings.tokensPerSecond,
                  completionTokens: result.usage.completionTokens,
                  finishReason: result.finishReason,
                },
              });
            },
            (error: unknown) => dispatch({ type: 'reply-failed', message: describeError(error), aborted: controller.signal.aborted }),
          );
        return;
      }
      case 'abort':
        controllerRef.current?.abort(new DOMException('Stopped', 'AbortError'));
        return;
      case 'save': {
        const path = resolve(cwd, effect.path);
        void writeFile(path, effect.content).then(
          () => dispatch({ type: 'notify', kind: 'info', text: `Saved the conversation to ${path}.` }),
          (error: unknown) => dispatch({ type: 'notify', kind: 'error', text: `Could not save to ${path}: ${describeFileError(error)}.` }),
        );
        return;
      }
      case 'load': {
        const path = resolve(cwd, effect.path);
        void readFile(path, 'utf8')
          .then((text) => parseTranscript(text, transcriptFormatFor(path)))
          .then(
            (transcript) => dispatch({ type: 'loaded', path, transcript }),
            (error: unknown) =>
              dispatch({ type: 'notify', kind: 'error', text: `Could not load ${path}: ${(error as NodeJS.ErrnoException).code ? describeFileError(error) : describeError(error)}.` }),
          );
        return;
      }
      case 'list-models':
        void runtime.listModels().then(
          (models) => dispatch({ type: 'models-listed', names: models.filter((m) => m.kind === 'llm').map((m) => m.name) }),
          (error: unknown) => dispatch({ type: 'notify', kind: 'error', text: describeError(error) }),
        );
        return;
      case 'check-model':
        void runtime.getModel(effect.name).then(
          (found) =>
            found.kind === 'llm'
              ? dispatch({ type: 'model-ready', name: found.name })
              : dispatch({ type: 'notify', kind: 'error', text: `'${found.name}' is ${withArticle(found.kind)} model, not a chat model.` }),
          (error: unknown) => dispatch({ type: 'notify', kind: 'error', text: describeError(error) }),
        );
        return;
      case 'exit':
        controllerRef.current?.abort(new DOMException('Stopped', 'AbortError'));
        exit();
        return;
    }
  };

  // dispatch is stable; the effects it runs always see the latest props.
  const performRef = useRef(perform);
  performRef.current = perform;

  useInput((input, key) => dispatch({ type: 'key', input, key }));

  // The redrawn part stays shorter than the terminal (see screen-fit.ts): the input and the reply
  // being streamed show their ends when they would not fit; a finished reply is printed whole.
  const columns = stdout.columns || 80;
  const rows = stdout.isTTY && stdout.rows ? stdout.rows : undefined;
  const room = rows === undefined ? undefined : rows - 2;
  const noticeRows = state.notice ? wrapRows(state.notice, columns).length : 0;
  const replyChrome = state.reply ? 1 + (state.reply.stopping ? 1 : 0) : 0;
  const input = inputView(state.input.text, state.input.cursor, columns - 2, room === undefined ? undefined : Math.max(1, room - 1 - noticeRows - replyChrome));
  const replyText = state.reply ? state.reply.text || (state.reply.stopping ? '' : '…') : '';
  const reply = room === undefined ? replyText : tailRows(replyText, columns, Math.max(1, room - 1 - noticeRows - input.rows - (replyChrome - 1))).text;

  return (
    <>
      <Static key={generation} items={[...state.log]}>{(entry) => <LogLine key={entry.id} entry={entry} color={color} />}</Static>
      {state.reply ? (
        <Box flexDirection="column">
          <Text>{reply}</Text>
          {state.reply.stopping ? <Text dimColor>stopping…</Text> : null}
        </Box>
      ) : null}
      <Box marginTop={1}>
        <InputLines lines={input.lines} busy={Boolean(state.reply)} color={color} />
      </Box>
      {state.notice ? <Text dimColor>{state.notice}</Text> : null}
    </>
  );
};
