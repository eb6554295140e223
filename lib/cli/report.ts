/**
 * `pyr report <run-dir>`: rebuilds report.html in a run folder from its files and prints its path.
 * `--open` also opens it in the default browser.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { writeWarning } from '../report/console.ts';
import { writeReportHtml } from '../report/html.ts';
import type { CliIo } from './backtest.ts';

/**
 * Opens `file` in the desktop's default browser (xdg-open, open, or start; `opener` replaces it, for
 * tests), without waiting for it. Resolves false, after a warning saying where the file is, when there
 * is no opener.
 */
export function openInBrowser(file: string, io: Pick<CliIo, 'stderr'> & { env?: NodeJS.ProcessEnv }, opener?: string): Promise<boolean> {
  const [cmd, args] =
    opener !== undefined
      ? [opener, [file]]
      : process.platform === 'darwin' ? ['open', [file]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', file]] : ['xdg-open', [file]];
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, why?: string): void => {
      if (settled) return;
      settled = true;
      if (!ok) writeWarning(io.stderr, `could not open a browser (${why}); open ${file} yourself`, io.env);
      resolve(ok);
    };
    try {
      const child = spawn(cmd as string, args as string[], { detached: true, stdio: 'ignore' });
      child.once('error', (err) => done(false, `${cmd}: ${err.message}`));
      child.once('spawn', () => {
        child.unref();
        done(true);
      });
    } catch (err) {
      done(false, err instanceof Error ? err.message : String(err));
    }
  });
}

export function reportCommand(io: CliIo): Command {
  return new Command('report')
    .description("Rebuild a run folder's report.html (candles, trades, StochRSI, pivots, equity, metrics) and print its path")
    .argument('<run-dir>', 'a run folder written by pyr backtest (backtests/<run-id> or --out)')
    .option('--open', 'open the page in the default browser')
    .action(async (runDir: string, opts: { open?: boolean }) => {
      const file = await writeReportHtml(path.resolve(io.cwd, runDir));
      io.stdout.write(`${file}\n`);
      if (opts.open) await openInBrowser(file, io);
    });
}
