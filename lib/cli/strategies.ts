/**
 * `pyr strategies`: lists built-in and local strategies with their parameters and defaults, then the run
 * parameters. Built-in ones are those shipped with pyr (BUILTIN_STRATEGIES); local ones, the user's in
 * `./strategies/`, are labelled by their path. A file that fails to load is reported (one line naming
 * it) after the others are listed, and the command exits non-zero.
 */
import { Command } from 'commander';
import { PyrError } from '../core/index.ts';
import { StrategyLoadError, displayPath, listStrategyFiles, loadStrategy, type ParamSpec } from '../strategy/index.ts';
import { RUN_PARAMS } from '../config/index.ts';
import type { CliIo } from './backtest.ts';

interface Listed {
  readonly name: string;
  readonly builtin: boolean;
  readonly file: string;
  readonly description: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
}

type Row = readonly [key: string, value: string, range: string, description: string];

function row(key: string, spec: ParamSpec): Row {
  const s = spec as ParamSpec & { min?: number; max?: number; choices?: readonly string[] };
  const range = s.choices ? `{${s.choices.join('|')}}` : s.min !== undefined || s.max !== undefined ? `[${s.min ?? ''}..${s.max ?? ''}]` : '';
  return [key, JSON.stringify(s.default) ?? '', range, s.description ?? ''];
}

/** Rows as columns two spaces apart, each as wide as its widest cell (over every table, so all line up). */
function formatRows(rows: readonly Row[], widths: readonly number[]): string[] {
  return rows.map((r) => `    ${r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}`.trimEnd());
}

export function strategiesCommand(io: CliIo): Command {
  return new Command('strategies')
    .description('List built-in and local strategies with their parameters and defaults')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const out: Listed[] = [];
      const failed: PyrError[] = [];
      for (const s of listStrategyFiles(io.cwd)) {
        try {
          const { definition } = await loadStrategy(s.file, io.cwd);
          out.push({ name: s.name, builtin: s.builtin, file: s.file, description: definition.description ?? '', params: definition.params });
        } catch (err) {
          failed.push(err instanceof PyrError ? err : new StrategyLoadError(`strategy ${displayPath(s.file, io.cwd)} failed to load: ${String(err)}`, { file: s.file }, { cause: err }));
        }
      }
      if (opts.json) {
        const errors = failed.map((e) => ({ file: e instanceof StrategyLoadError ? e.file : undefined, error: e.message }));
        io.stdout.write(`${JSON.stringify({ strategies: out, runParams: RUN_PARAMS, ...(errors.length > 0 ? { errors } : {}) }, null, 2)}\n`);
      } else {
        const tables = out.map((s) => Object.entries(s.params).map(([k, spec]) => row(k, spec)));
        const runRows = Object.entries(RUN_PARAMS).map(([k, spec]) => row(k, spec as ParamSpec));
        const all = [...tables.flat(), ...runRows];
        const widths = [0, 1, 2].map((i) => Math.max(0, ...all.map((r) => r[i]!.length)));
        const lines: string[] = [];
        out.forEach((s, i) => {
          lines.push(`${s.name} (${s.builtin ? 'built-in' : displayPath(s.file, io.cwd)}): ${s.description}`);
          lines.push(...formatRows(tables[i]!, widths), '');
        });
        lines.push('Run parameters (every strategy):', ...formatRows(runRows, widths));
        io.stdout.write(`${lines.join('\n')}\n`);
      }
      if (failed.length === 0) return;
      // One line per file that failed; the last one is the command's error (and sets the exit code).
      for (const e of failed.slice(0, -1)) io.stderr.write(`pyr: ${e.message}\n`);
      throw failed.at(-1)!;
    });
}
