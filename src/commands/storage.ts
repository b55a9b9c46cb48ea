import type { Command } from 'commander';
import type { CliContext } from '../ui/context.js';

export function registerStorageCommands(program: Command, context: CliContext): void {
  void program;
  void context;
}
