/** `pyr strategies`: lists built-in and local strategies with their parameters and defaults. */
import { Command } from 'commander';
import { listStrategyFiles, loadStrategy } from '../strategy/index.ts';
import { RUN_PARAMS } from './config.ts';
import type { CliIo } from './backtest.ts';

export function strategiesCommand(io: CliIo): Command {
  return new Command('strategies')
    .description('List built-in and local strategies with their parameters and defaults')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const out = [];
      for (const s of listStrategyFiles(io.cwd)) {
        const { definition } = await loadStrategy(s.file, io.cwd);
        out.push({ name: s.name, builtin: s.builtin, file: s.file, description: definition.description, params: definition.params });
      }
      if (opts.json) {
        io.stdout.write(`${JSON.stringify({ strategies: out, runParams: RUN_PARAMS }, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      const param = (k: string, spec: { default: unknown; description: string; min?: number; max?: number; choices?: readonly string[] }) => {
        const range = spec.choices ? ` {${spec.choices.join('|')}}` : spec.min !== undefined || spec.max !== undefined ? ` [${spec.min ?? ''}..${spec.max ?? ''}]` : '';
        return `    ${k.padEnd(20)} ${JSON.stringify(spec.default).padEnd(10)}${range.padEnd(14)} ${spec.description}`;
      };
      for (const s of out) {
        lines.push(`${s.name}${s.builtin ? ' (built-in)' : ` (${s.file})`}: ${s.description}`);
        for (const [k, spec] of Object.entries(s.params)) lines.push(param(k, spec as never));
        lines.push('');
      }
      lines.push('Run parameters (every strategy):');
      for (const [k, spec] of Object.entries(RUN_PARAMS)) lines.push(param(k, spec as never));
      io.stdout.write(`${lines.join('\n')}\n`);
    });
}
