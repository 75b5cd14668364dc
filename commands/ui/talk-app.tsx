import { setImmediate as nextTurnOfLoop } from 'node:timers/promises';
import { Box, render, Static, Text } from 'ink';
import { useSyncExternalStore } from 'react';
import type { CommandContext } from '../context.js';
import type { TalkPrinter } from './talk-output.js';
import { createTalkStore, talkStatus, type TalkLine, type TalkStore } from './talk-state.js';

const Line = ({ line }: { line: TalkLine }) => {
  switch (line.kind) {
    case 'you':
      return (
        <Text>
          <Text color="cyan">you:</Text> {line.text}
        </Text>
      );
    case 'murmur':
      return (
        <Text>
          <Text color="green">murmur:</Text>
          {line.text ? ` ${line.text}` : ''}
          {line.mark === 'interrupted' ? <Text color="yellow"> [interrupted]</Text> : null}
          {line.mark === 'failed' ? <Text color="red"> [failed]</Text> : null}
        </Text>
      );
    default:
      return <Text color="red">{line.text}</Text>;
  }
};

export interface TalkAppProps {
  readonly store: TalkStore;
}

/**
 * `murmur talk` on a terminal: the finished turns and replies scroll by once
 * (Static); the reply being written, the turn being spoken and the status
 * line are redrawn. It reads no keys: Ctrl-C reaches the process as SIGINT,
 * which is how talk is left (talk-run.ts). State changes live in talk-state.ts.
 */
export const TalkApp = ({ store }: TalkAppProps) => {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const status = talkStatus(state);
  return (
    <>
      <Static items={[...state.lines]}>{(line) => <Line key={line.id} line={line} />}</Static>
      {state.over ? null : (
        <Box flexDirection="column">
          {state.reply?.text ? (
            <Text>
              <Text color="green">murmur:</Text> {state.reply.text}
            </Text>
          ) : null}
          {state.hearing?.text ? <Text dimColor>you: {state.hearing.text}</Text> : null}
          <Box marginTop={state.lines.length || state.reply?.text || state.hearing?.text ? 1 : 0}>
            <Text wrap="truncate-end">
              <Text color={status === 'listening' ? 'cyan' : status === 'speaking' ? 'green' : 'yellow'}>{status}</Text>
              {state.interrupted ? <Text color="yellow"> · interrupted</Text> : null}
              {state.timings ? <Text dimColor> · {state.timings}</Text> : null}
              <Text dimColor> · Ctrl-C leaves</Text>
            </Text>
          </Box>
        </Box>
      )}
    </>
  );
};

/** The talk UI as talk-run.ts's printer, and the way to take it off the terminal. */
export interface TalkScreen extends TalkPrinter {
  /** Draws the last lines and unmounts; resolves once ink has let go of the terminal. Safe to call twice. */
  close(): Promise<void>;
}

/** Mounts the talk UI on ctx.stdout (a terminal). Ctrl-C (ctx.signal) shows "leaving…" until close(). */
export const openTalkScreen = (ctx: CommandContext): TalkScreen => {
  const store = createTalkStore();
  const app = render(<TalkApp store={store} />, {
    stdin: ctx.stdin as NodeJS.ReadStream,
    stdout: ctx.stdout as NodeJS.WriteStream,
    stderr: ctx.stderr as NodeJS.WriteStream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  // Asked for before any unmount: ink makes this promise on the first call.
  const exited = app.waitUntilExit().then(
    () => undefined,
    () => undefined,
  );
  const leaving = () => store.dispatch({ type: 'leaving' });
  if (ctx.signal.aborted) leaving();
  else ctx.signal.addEventListener('abort', leaving, { once: true });
  return {
    event: (event) => store.dispatch({ type: 'event', event }),
    end: () => store.dispatch({ type: 'end' }),
    async close() {
      ctx.signal.removeEventListener('abort', leaving);
      store.dispatch({ type: 'end' });
      // The last state is drawn (its lines into the scrollback, the status line gone) before ink lets go.
      await nextTurnOfLoop();
      app.unmount();
      await exited;
    },
  };
};
