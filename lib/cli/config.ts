/**
 * The command line's side of configuration: the run flags every strategy-running command takes, and
 * reading the config file (`pyr.config.json` in the working directory, or `--config`). Resolving them
 * into a run spec is lib/config's (pure) work.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import path from 'node:path';
import { ConfigError } from '../core/index.ts';
import { parseConfigText, resolveRunTarget, type ConfigFile, type RunFlags, type RunTarget } from '../config/index.ts';
import { PYR_ROOT } from '../strategy/index.ts';

/** The sample shipped with pyr (data/sample/README.md): two months of real Bybit BTCUSDT 15-minute candles and funding. */
export const SAMPLE = {
  candles: path.join(PYR_ROOT, 'data', 'sample', 'BTCUSDT-15m.csv'),
  funding: path.join(PYR_ROOT, 'data', 'sample', 'BTCUSDT-funding.csv'),
} as const;

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Adds the RunFlags options to a command; `dates` words the defaults of --from and --to. */
export function addRunOptions(cmd: Command, dates: { from: string; to: string }, paramHelp = 'set a strategy or run parameter (repeatable; several per flag)'): Command {
  return cmd
    .option('--strategy <name|file>', 'built-in or local strategy name, or a path to a .ts/.js strategy file')
    .option('--symbol <symbol>', 'symbol, e.g. BTCUSDT (default BTCUSDT)')
    .option('--interval <interval>', 'Bybit interval: 1 3 5 15 30 60 120 240 360 720 D W M (default 15)')
    .option('--from <YYYY-MM-DD>', `first UTC day traded, inclusive (${dates.from})`)
    .option('--to <YYYY-MM-DD>', `last UTC day traded, inclusive (${dates.to})`)
    .option('--category <category>', 'Bybit category (default linear)')
    .option('--config <file>', 'config file (default: pyr.config.json when present)')
    .option('--param <key=value...>', paramHelp, collect)
    .option('--data-dir <dir>', 'candle store folder (default data)')
    .option('--candles <file>', 'read this one candle file (.csv or .csv.gz) instead of the store')
    .option('--funding <file>', 'funding-rate history (timestamp,fundingRate) to charge')
    .option('--sample', 'run on the sample shipped with pyr: real Bybit BTCUSDT 15-minute candles and funding, 2024-07-01 to 2024-08-31 (no network)');
}

/** Reads `--config file`, or `pyr.config.json` in `cwd` when present. */
export function readConfigFile(explicit: string | undefined, cwd: string): { file?: string; config: ConfigFile } {
  const file = explicit ? path.resolve(cwd, explicit) : path.join(cwd, 'pyr.config.json');
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError(`--config: file not found: ${file}`);
    return { config: {} };
  }
  return { file, config: parseConfigText(readFileSync(file, 'utf8'), file) };
}

/** The flags and the config file as a run target (the sample's files are this installation's). */
export function runTargetOf(flags: RunFlags, cwd: string): RunTarget {
  return resolveRunTarget(flags, readConfigFile(flags.config, cwd), cwd, SAMPLE);
}
