import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';

/**
 * commander, loaded with require: it is a CommonJS package, and importing it
 * as an ES module makes Node scan its source for named exports first
 * (~10 ms of every start-up on a small VM). Commands import it from here.
 */
const commander = createRequire(import.meta.url)('commander') as typeof CommanderModule;

export const { Command, CommanderError, Help, Option } = commander;
export type Command = CommanderModule.Command;
export type CommanderError = CommanderModule.CommanderError;
export type Help = CommanderModule.Help;
export type Option = CommanderModule.Option;
