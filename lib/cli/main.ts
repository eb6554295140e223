/**
 * The command line: the one place that wires pyr together. Each command lives in its own file; actions
 * throw PyrErrors, and `main` turns them into one clear line on stderr and an exit code. Only bin/pyr exits.
 */
import { Command, CommanderError } from 'commander';
import { PyrError } from '../core/index.ts';
import type { CliIo } from './backtest.ts';

type CommandFactory = (io: CliIo) => Command;

/**
 * Every command, loaded on demand: a run of one command imports only that command's modules (live mode's
 * bybit-api, the sandbox's WebSocket server and the report page stay unloaded in a backtest).
 */
const COMMANDS: Readonly<Record<string, () => Promise<CommandFactory>>> = {
  backtest: async () => (await import('./backtest.ts')).backtestCommand,
  download: async () => (await import('./download.ts')).downloadCommand,
  data: async () => (await import('./data.ts')).dataCommand,
  import: async () => (await import('./import.ts')).importCommand,
  live: async () => (await import('./live.ts')).liveCommand,
  diff: async () => (await import('./diff.ts')).diffCommand,
  optimize: async () => (await import('./optimize.ts')).optimizeCommand,
  worker: async () => (await import('./worker.ts')).workerCommand,
  report: async () => (await import('./report.ts')).reportCommand,
  compare: async () => (await import('./compare.ts')).compareCommand,
  strategies: async () => (await import('./strategies.ts')).strategiesCommand,
  new: async () => (await import('./new.ts')).newCommand,
  sandbox: async () => (await import('./sandbox.ts')).sandboxCommand as CommandFactory,
};

/** The program with every command, or only `only` when it names one (what a normal run needs). */
export async function buildProgram(io: CliIo, only?: string): Promise<Command> {
  const program = new Command('pyr')
    .description('Research, backtest and run crypto scalping strategies on Bybit USDT perpetuals')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  const factories = await Promise.all(names.map((n) => COMMANDS[n]!()));
  for (const make of factories) {
    const cmd = make(io);
    cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    program.addCommand(cmd);
  }
  return program;
}

/** Runs pyr with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env }): Promise<number> {
  const program = await buildProgram(io, argv[0]);
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
