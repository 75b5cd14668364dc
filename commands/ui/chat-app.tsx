import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Box, Static, Text, useApp, useInput, useStdout } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Runtime } from '../../src/runtime/types.js';
import type { ChatRequest } from '../../src/types/chat.js';
import { isAppError } from '../../src/errors.js';
import type { InputBuffer } from './chat-input.js';
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
          <Text color={color ? 'cyan' : undefined}>{'› '}</Text>
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

/**
 * The input lines with the cursor drawn as an inverted cell. Each line is
 * one Text (the cursor nested in it), so a long line wraps at its words
 * rather than where the cursor splits it.
 */
const InputLines = ({ buffer, busy, color }: { buffer: InputBuffer; busy: boolean; color: boolean }) => {
  let offset = 0;
  const lines = buffer.text.split('\n').map((line, index) => {
    const start = offset;
    offset += line.length + 1;
    const prefix = index === 0 ? <Text color={color ? (busy ? 'gray' : 'cyan') : undefined} dimColor={!color && busy}>{'› '}</Text> : <Text>{'  '}</Text>;
    if (buffer.cursor < start || buffer.cursor > start + line.length) {
      return (
        <Box key={index}>
          {prefix}
          <Text>{line}</Text>
        </Box>
      );
    }
    const at = buffer.cursor - start;
    return (
      <Box key={index}>
        {prefix}
        <Text>
          {line.slice(0, at)}
          <Text inverse>{line[at] ?? ' '}</Text>
          {line.slice(at + 1)}
        </Text>
      </Box>
    );
  });
  return <Box flexDirection="column">{lines}</Box>;
};

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

  return (
    <>
      <Static key={generation} items={[...state.log]}>{(entry) => <LogLine key={entry.id} entry={entry} color={color} />}</Static>
      {state.reply ? (
        <Box flexDirection="column">
          <Text>{state.reply.text || (state.reply.stopping ? '' : '…')}</Text>
          {state.reply.stopping ? <Text dimColor>stopping…</Text> : null}
        </Box>
      ) : null}
      <Box marginTop={1}>
        <InputLines buffer={state.input} busy={Boolean(state.reply)} color={color} />
      </Box>
      {state.notice ? <Text dimColor>{state.notice}</Text> : null}
    </>
  );
};
