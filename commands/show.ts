import { Command } from 'commander';
import type { CommandContext } from './context.js';

export const showCommand = (_ctx: CommandContext) => new Command('show').description('(not yet built)');
