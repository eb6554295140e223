/**
 * The command line: the one place that wires pyr together. Each command lives in its own file; actions
 * throw PyrErrors, and `main` turns them into one clear line on stderr and an exit code. Only bin/pyr exits.
 */
import { Command, CommanderError } from 'commander';
import { PyrError } from '../core/index.ts';
import { backtestCommand, type CliIo } from './backtest.ts';
import { strategiesCommand } from './strategies.ts';
import { sandboxCommand } from './sandbox.ts';
import { liveCommand } from './live.ts';
import { diffCommand } from './diff.ts';
import { newCommand } from './new.ts';
import { downloadCommand } from './download.ts';

export function buildProgram(io: CliIo): Command {
  const program = new Command('pyr')
    .description('Research, backtest and run crypto scalping strategies on Bybit USDT perpetuals')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  for (const cmd of [backtestCommand(io), downloadCommand(io), liveCommand(io), diffCommand(io), strategiesCommand(io), newCommand(io), sandboxCommand()]) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    program.addCommand(cmd);
  }
  return program;
}

/** Runs pyr with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env }): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (help, version or a usage error).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof PyrError) {
      io.stderr.write(`pyr: ${err.message}\n`);
      if (io.env.PYR_DEBUG && err.stack) io.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    io.stderr.write(`pyr: unexpected error: ${err instanceof Error ? (io.env.PYR_DEBUG ? err.stack : err.message) : String(err)}\n`);
    return 1;
  }
}
