import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Box, Static, Text, useApp, useInput } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Runtime } from '../../src/runtime/types.js';
import type { ChatRequest } from '../../src/types/chat.js';
import { isAppError } from '../../src/errors.js';
import type { InputBuffer } from './chat-input.js';
import { initialChatState, step, type ChatAction, type ChatEffect, type LogEntry } from './chat-state.js';

/** Sampling and format settings applied to every request of the session. */
export type ChatSettings = Omit<ChatRequest, 'model' | 'messages' | 'onToken' | 'signal'>;

export interface ChatAppProps {
  readonly runtime: Pick<Runtime, 'chat' | 'getModel'>;
  readonly model: string;
  readonly system?: string;
  readonly settings?: ChatSettings;
  /** Where /save writes; relative paths resolve against this folder. */
  readonly cwd?: string;
}

const describeError = (error: unknown): string => {
  if (isAppError(error)) return error.hint ? `${error.message} ${error.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
};

const LogLine = ({ entry }: { entry: LogEntry }) => {
  switch (entry.kind) {
    case 'user':
      return (
        <Box marginTop={1}>
          <Text color="cyan">{'› '}</Text>
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
      return <Text color="red">{entry.text}</Text>;
    default:
      return <Text dimColor>{entry.text}</Text>;
  }
};

/** The input lines with the cursor drawn as an inverted cell. */
const InputLines = ({ buffer, busy }: { buffer: InputBuffer; busy: boolean }) => {
  let offset = 0;
  const lines = buffer.text.split('\n').map((line, index) => {
    const start = offset;
    offset += line.length + 1;
    const prefix = index === 0 ? <Text color={busy ? 'gray' : 'cyan'}>{'› '}</Text> : <Text>{'  '}</Text>;
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
        <Text>{line.slice(0, at)}</Text>
        <Text inverse>{line[at] ?? ' '}</Text>
        <Text>{line.slice(at + 1)}</Text>
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
export const ChatApp = ({ runtime, model, system, settings = {}, cwd = process.cwd() }: ChatAppProps) => {
  const { exit } = useApp();
  const [state, setState] = useState(() => initialChatState(model, system));
  const stateRef = useRef(state);
  const controllerRef = useRef<AbortController | undefined>(undefined);

  const dispatch = useCallback((action: ChatAction): void => {
    const { state: next, effects } = step(stateRef.current, action);
    stateRef.current = next;
    setState(next);
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
        void runtime
          .chat({
            ...settings,
            model: effect.model,
            messages: effect.messages,
            signal: controller.signal,
            onToken: queueToken,
          })
          .finally(flush)
          .then(
            (result) =>
              dispatch({
                type: 'reply-done',
                result: {
                  text: result.text,
                  tokensPerSecond: result.timings.tokensPerSecond,
                  completionTokens: result.usage.completionTokens,
                  finishReason: result.finishReason,
                },
              }),
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
          (error: unknown) => dispatch({ type: 'notify', kind: 'error', text: `Could not save to ${path}: ${describeError(error)}` }),
        );
        return;
      }
      case 'check-model':
        void runtime.getModel(effect.name).then(
          (found) =>
            found.kind === 'llm'
              ? dispatch({ type: 'model-ready', name: found.name })
              : dispatch({ type: 'notify', kind: 'error', text: `'${found.name}' is a ${found.kind} model, not a chat model.` }),
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
      <Static items={[...state.log]}>{(entry) => <LogLine key={entry.id} entry={entry} />}</Static>
      {state.reply ? (
        <Box flexDirection="column">
          <Text>{state.reply.text || (state.reply.stopping ? '' : '…')}</Text>
          {state.reply.stopping ? <Text dimColor>stopping…</Text> : null}
        </Box>
      ) : null}
      <Box marginTop={1}>
        <InputLines buffer={state.input} busy={Boolean(state.reply)} />
      </Box>
      {state.notice ? <Text dimColor>{state.notice}</Text> : null}
    </>
  );
};
