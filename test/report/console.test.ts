import { expect } from 'chai';
import {
  colorize,
  computeMetrics,
  createLogger,
  createProgress,
  formatAmbiguousLine,
  formatDuration,
  formatReport,
  formatTradeStatsLine,
  formatUsd,
  formatWarning,
  smallSampleText,
  tradeStats,
  useColor,
  writeWarning,
  type OutStream,
} from '../../lib/report/index.ts';
import { DAY, MIN, T0, grid, makeRun, seedRun, trade } from './fixtures.ts';

const ESC = '\x1b[';

function sink(isTTY: boolean): OutStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY, out, write: (s: string) => out.push(s) };
}

describe('report/console', () => {
  const run = seedRun();
  const m = computeMetrics(run);

  describe('the seed line', () => {
    it('is exact for the seed example', () => {
      expect(formatTradeStatsLine(m)).to.equal('Overall Trade Statistics: Total PnL: $5.23, Win Rate: 60.00% (3/5)');
    });

    it('prints a loss as -$1.23 (sign before the $) and rounds half up from the exact value', () => {
      const lossRun = makeRun({ times: [T0], equity: [998], trades: [trade(1, { net: '-1.225' }), trade(2, { net: '0' }), trade(3, { net: '0.5' })] });
      // −1.225 + 0 + 0.5 = −0.725 → -$0.73 (half away from zero); 1 win of 3 = 33.33%
      expect(formatTradeStatsLine(computeMetrics(lossRun))).to.equal('Overall Trade Statistics: Total PnL: -$0.73, Win Rate: 33.33% (1/3)');
      expect(formatUsd('-1.23')).to.equal('-$1.23');
      expect(formatUsd(-310.48)).to.equal('-$310.48');
      expect(formatUsd('-0.004')).to.equal('$0.00');
      expect(formatUsd('1.005')).to.equal('$1.01'); // 1.005.toFixed(2) would give 1.00
    });

    it('tradeStats gives the same line straight from trades (live mode)', () => {
      expect(tradeStats(run.trades)).to.deep.equal({ netPnlExact: '5.23', wins: 3, trades: 5 });
      expect(formatTradeStatsLine(tradeStats(run.trades))).to.equal('Overall Trade Statistics: Total PnL: $5.23, Win Rate: 60.00% (3/5)');
      expect(formatTradeStatsLine(tradeStats([]))).to.equal('Overall Trade Statistics: Total PnL: $0.00, Win Rate: 0.00% (0/0)');
    });

    it('handles zero trades', () => {
      const empty = computeMetrics(makeRun({ times: [T0], equity: [1000] }));
      expect(formatTradeStatsLine(empty)).to.equal('Overall Trade Statistics: Total PnL: $0.00, Win Rate: 0.00% (0/0)');
    });
  });

  describe('formatReport', () => {
    it('has no ANSI escapes when color is false, and some when true', () => {
      const plain = formatReport(run, m, { color: false });
      expect(plain).not.to.contain(ESC);
      expect(formatReport(run, m, { color: true })).to.contain(ESC);
    });

    it('contains the header, the table, exits, the ambiguous line, notices and the seed line', () => {
      const text = formatReport(run, m, { color: false });
      const lines = text.split('\n');
      expect(text).to.contain('Run test-run-1');
      expect(text).to.match(/Strategy +stoch_rsi {2}k=14, d=3/);
      expect(text).to.match(/Symbol +BTCUSDT \(linear\), 1m candles/);
      expect(text).to.match(/Range +2024-01-01 → 2024-01-01 \(UTC days\), 2024-01-01 00:00 → 2024-01-01 00:59/);
      expect(text).to.match(/Candles +60 \(\+0 warm-up\) from data\/test\.csv/);
      expect(text).to.contain('tick 0.1, qty step 0.001, min qty 0.001, min notional 5 (test rules)');
      expect(text).to.contain('taker 0.055%, maker 0.02%, slippage 2 bps, below min qty: raise');
      expect(text).to.match(/Funding +not charged: no funding file/);
      const charged = makeRun({ times: [T0], equity: [1000] });
      (charged.meta as { funding: unknown }).funding = { charged: true, detail: 'charged from data/f.csv: 3 settlements' };
      const chargedText = formatReport(charged, computeMetrics(charged), { color: false });
      expect(chargedText).to.match(/Funding +charged from data\/f\.csv: 3 settlements\n/);
      expect(text).to.match(/Win rate +60\.00%/);
      expect(text).to.match(/Net PnL +\$5\.23 \(0\.52% of \$1000\.00\)/);
      expect(text).to.match(/Profit factor +6\.23/);
      expect(text).to.match(/Avg duration +6m \(5\.4 candles from entry to exit candle\)/);
      expect(text).to.match(/Exits +signal 2, stop_loss 1, take_profit 1, end_of_data 1/);
      expect(text).to.contain(
        '1 exit touched both stop and target; the stop was assumed first. Net PnL had the target come first: $8.13',
      );
      expect(text).to.contain('  - qty raised to the minimum 0.001 on 1 entry');
      expect(lines.filter((l) => l.length > 0).at(-1)).to.equal('Overall Trade Statistics: Total PnL: $5.23, Win Rate: 60.00% (3/5)');
    });

    it('writes losses as -$310.48 everywhere (sign before the $, never $-), tiny amounts too', () => {
      const losing = makeRun({
        times: [T0, T0 + MIN],
        equity: [1000, 689.52],
        trades: [
          trade(1, { net: '-310.48', fees: '0.3' }),
          trade(2, { net: '-0.004', fees: '0.00123', funding: '-0.00456' }),
          trade(3, { net: '0.004' }),
        ],
      });
      const text = formatReport(losing, computeMetrics(losing), { color: false });
      expect(text).not.to.contain('$-');
      expect(text).to.match(/Net PnL +-\$310\.48 \(-31\.05% of \$1000\.00\)/);
      expect(text).to.match(/Gross PnL +-\$310\.18/);
      expect(text).to.match(/Funding +-\$0\.00456 \(positive = paid\)/);
      expect(text).to.match(/Best \/ worst +\$0\.004 \/ -\$310\.48/);
      expect(text).to.match(/Avg win \/ loss +\$0\.004 \/ -\$155\.24/);
      expect(text).to.contain('Overall Trade Statistics: Total PnL: -$310.48, Win Rate: 33.33% (1/3)');
    });

    it('says Sharpe and Sortino of a few days or a few trades are too few to mean anything, and prints them otherwise', () => {
      /** `days` daily candles, equity zig-zagging, `trades` trades. */
      const sample = (days: number, trades: number) => {
        const times = grid(T0, days, DAY);
        const equity = times.map((_, i) => 1000 + (i % 2 === 0 ? 10 : -5) + i);
        const list = Array.from({ length: trades }, (_, i) => trade(i + 1, { net: i % 2 ? '-1' : '2' }));
        const r = makeRun({ times, equity, intervalMs: DAY, trades: list });
        const metrics = computeMetrics(r);
        const line = formatReport(r, metrics, { color: false }).split('\n').find((l) => l.startsWith('  Sharpe / Sortino '))!;
        return { metrics, line };
      };
      const week = sample(7, 20);
      expect(week.metrics.sharpe).to.be.a('number');
      expect(week.line).to.match(/Sharpe \/ Sortino +n\/a \(7 days: too few to mean anything; needs 30\+ daily returns\)$/);
      expect(sample(7, 3).line).to.match(/n\/a \(7 days and 3 trades: too few to mean anything; needs 30\+ daily returns and 10\+ trades\)$/);
      expect(sample(90, 1).line).to.match(/n\/a \(1 trade: too few to mean anything; needs 10\+ trades\)$/);
      const long = sample(90, 20);
      expect(long.line).to.match(/Sharpe \/ Sortino +-?\d+\.\d\d \/ -?\d+\.\d\d \(daily returns over 90 days, ×√365\)$/);
      expect(long.line).to.contain(long.metrics.sharpe!.toFixed(2));
      expect(smallSampleText(long.metrics)).to.equal(null);
    });

    it('aligns the metric table values in one column', () => {
      const text = formatReport(run, m, { color: false });
      const starts = ['Trades', 'Win rate', 'Max drawdown', 'Sharpe / Sortino', 'Final equity'].map((k) => {
        const line = text.split('\n').find((l) => l.startsWith(`  ${k} `))!;
        const value = /^ {2}\S.*? {2,}(\S.*)$/.exec(line)![1]!;
        return line.length - value.length;
      });
      expect(starts[0]).to.be.greaterThan(10);
      expect(new Set(starts).size).to.equal(1);
    });

    it('works with zero trades and zero candles', () => {
      const text = formatReport(makeRun({ times: [], equity: [] }), computeMetrics(makeRun({ times: [], equity: [] })), { color: false });
      expect(text).not.to.match(/NaN|undefined|Infinity/);
      expect(text).to.contain('Overall Trade Statistics: Total PnL: $0.00, Win Rate: 0.00% (0/0)');
      expect(text).not.to.contain('touched both stop and target');
    });
  });

  it('formatAmbiguousLine uses the plural and is empty without ambiguous exits', () => {
    expect(formatAmbiguousLine({ ambiguousExits: 3, netPnlIfTargetFirstExact: '-12.345' })).to.equal(
      '3 exits touched both stop and target; the stop was assumed first. Net PnL had the target come first: -$12.35',
    );
    expect(formatAmbiguousLine({ ambiguousExits: 0, netPnlIfTargetFirstExact: '0' })).to.equal('');
  });

  it('formatDuration', () => {
    expect(formatDuration(6 * MIN)).to.equal('6m');
    expect(formatDuration(90_061_000)).to.equal('1d 1h 1m'); // 1d + 1h + 1m + 1s, 3 parts
    expect(formatDuration(12_000)).to.equal('12s');
    expect(formatDuration(0)).to.equal('0s');
    expect(formatDuration(null)).to.equal('n/a');
  });

  describe('useColor and colorize', () => {
    it('needs a TTY and respects NO_COLOR and TERM=dumb', () => {
      expect(useColor({ isTTY: true }, {})).to.equal(true);
      expect(useColor({ isTTY: false }, {})).to.equal(false);
      expect(useColor({}, {})).to.equal(false);
      expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).to.equal(false);
      expect(useColor({ isTTY: true }, { NO_COLOR: '' })).to.equal(true); // no-color.org: empty means unset
      expect(useColor({ isTTY: true }, { TERM: 'dumb' })).to.equal(false);
    });

    it('reads process.env by default', () => {
      const saved = process.env.NO_COLOR;
      try {
        process.env.NO_COLOR = '1';
        expect(useColor({ isTTY: true })).to.equal(false);
      } finally {
        if (saved === undefined) delete process.env.NO_COLOR;
        else process.env.NO_COLOR = saved;
      }
    });

    it('colorize wraps only when enabled', () => {
      expect(colorize('x', 'red', false)).to.equal('x');
      expect(colorize('x', 'red', true)).to.equal('\x1b[31mx\x1b[0m');
    });
  });

  describe('formatWarning and writeWarning: the one warning style', () => {
    it('is "warning: message", the whole line yellow only when colour is on', () => {
      expect(formatWarning('2 candles with zero volume', false)).to.equal('warning: 2 candles with zero volume');
      expect(formatWarning('2 candles with zero volume', true)).to.equal('\x1b[33mwarning: 2 candles with zero volume\x1b[0m');
    });

    it('writeWarning colours on a TTY, never off one or with NO_COLOR', () => {
      const tty = sink(true);
      writeWarning(tty, 'x', {});
      expect(tty.out).to.deep.equal(['\x1b[33mwarning: x\x1b[0m\n']);
      const noColor = sink(true);
      writeWarning(noColor, 'x', { NO_COLOR: '1' });
      expect(noColor.out).to.deep.equal(['warning: x\n']);
      const pipe = sink(false);
      writeWarning(pipe, 'x', {});
      expect(pipe.out).to.deep.equal(['warning: x\n']);
    });
  });

  describe('createLogger', () => {
    it('prints the seed levels without colour', () => {
      const s = sink(false);
      const log = createLogger({ stream: s, color: false });
      log.info('Overall Trade Statistics: x');
      log.success('Position opened');
      log.warn('Insufficient data');
      log.error('API failure');
      expect(s.out.join('')).to.equal('[INFO] Overall Trade Statistics: x\n[SUCCESS] Position opened\n[WARNING] Insufficient data\n[ERROR] API failure\n');
    });

    it('colours info cyan, success green, warning yellow, error red', () => {
      const s = sink(true);
      const log = createLogger({ stream: s, color: true });
      log.info('a');
      log.success('b');
      log.warn('c');
      log.error('d');
      expect(s.out).to.deep.equal(['\x1b[36m[INFO] a\x1b[0m\n', '\x1b[32m[SUCCESS] b\x1b[0m\n', '\x1b[33m[WARNING] c\x1b[0m\n', '\x1b[31m[ERROR] d\x1b[0m\n']);
    });

    it('starts every line with its UTC time with timestamps: true (pyr live)', () => {
      const s = sink(false);
      const log = createLogger({ stream: s, color: false, timestamps: true, now: () => T0 + 1234 });
      log.info('Trading BTCUSDT');
      log.warn('late');
      expect(s.out).to.deep.equal(['2024-01-01 00:00:01.234Z [INFO] Trading BTCUSDT\n', '2024-01-01 00:00:01.234Z [WARNING] late\n']);
    });

    it('prints one JSON object per line with json: true', () => {
      const s = sink(true);
      const log = createLogger({ stream: s, color: true, json: true, now: () => T0 });
      log.warn('careful, "quoted"');
      expect(s.out).to.have.length(1);
      expect(s.out[0]!.endsWith('\n')).to.equal(true);
      expect(JSON.parse(s.out[0]!)).to.deep.equal({ time: '2024-01-01T00:00:00.000Z', level: 'warn', message: 'careful, "quoted"' });
    });
  });

  describe('createProgress', () => {
    it('writes nothing on a non-TTY', () => {
      const s = sink(false);
      const p = createProgress({ stream: s, label: 'backtest', total: 100 });
      for (let i = 0; i <= 100; i++) p.update(i);
      p.done();
      expect(s.out).to.deep.equal([]);
    });

    it('throttles redraws to one per 100 ms and shows %, rate and ETA', () => {
      const s = sink(true);
      let t = 1_000_000;
      const p = createProgress({ stream: s, label: 'backtest', total: 1000, now: () => t });
      p.update(0); // first call draws
      t += 50;
      p.update(100); // 50 ms later: skipped
      t += 50;
      p.update(250); // 100 ms after the first draw: drawn. 250 in 0.1 s = 2500/s; 750 left → 0.3 s
      expect(s.out).to.have.length(2);
      expect(s.out[1]).to.match(/^\rbacktest \[#{6}-{18}\] +25\.0% 250\/1,000 2\.5k\/s ETA 0:00\x1b\[K$/);
      for (let i = 0; i < 20; i++) p.update(300 + i); // same instant: all skipped
      expect(s.out).to.have.length(2);
      t += 400;
      p.done(); // final 100% line, then a newline
      expect(s.out.at(-2)).to.contain('100.0% 1,000/1,000');
      expect(s.out.at(-1)).to.equal('\n');
      p.update(5);
      expect(s.out.at(-1)).to.equal('\n'); // nothing after done()
    });

    it('accepts fractions with total 1: no counts and no rate (never a %/s), the time so far and the ETA', () => {
      const s = sink(true);
      let t = 0;
      const p = createProgress({ stream: s, label: 'backtest', total: 1, now: () => t });
      p.update(0);
      t = 2000;
      p.update(0.4); // 40% in 2 s → 60% left takes 3 s
      expect(s.out[1]).to.equal('\rbacktest [##########--------------]  40.0% elapsed 0:02 ETA 0:03\x1b[K');
      // a fast run (half of it in 1 ms) used to print 50000.0%/s
      t = 2101;
      p.update(0.99);
      t = 2102;
      p.done();
      expect(s.out.join('')).to.not.match(/%\/s/);
      expect(s.out.at(-2)).to.equal('\rbacktest [########################] 100.0% elapsed 0:02 ETA 0:00\x1b[K');
    });

    it('names what is counted: "candles" after the counts, the rate in candles per second', () => {
      const s = sink(true);
      let t = 0;
      const p = createProgress({ stream: s, label: 'BTCUSDT 15m', total: 27_433, unit: 'candles', now: () => t });
      p.update(0);
      t = 10_000;
      p.update(12_345); // 1,234.5 candles/s; 15,088 left → 12.2 s
      expect(s.out[1]).to.equal('\rBTCUSDT 15m [###########-------------]  45.0% 12,345/27,433 candles 1.2k/s ETA 0:12\x1b[K');
    });

    it('stop() (interrupted) ends the line where it got to, never at 100%', () => {
      const s = sink(true);
      let t = 0;
      const p = createProgress({ stream: s, label: 'BTCUSDT 15m', total: 1000, unit: 'candles', now: () => t });
      p.update(0);
      t = 1000;
      p.update(400);
      t = 1050;
      p.update(450); // 50 ms after the last draw: not drawn, but it is where the work got to
      t = 1060;
      p.stop();
      expect(s.out.at(-1)).to.equal('\n');
      expect(s.out.at(-2)).to.match(/^\rBTCUSDT 15m \[#{11}-{13}\] +45\.0% 450\/1,000 candles [0-9.]+\/s stopped\x1b\[K$/);
      expect(s.out.join('')).to.not.contain('100.0%');
      const n = s.out.length;
      p.done();
      p.update(999);
      expect(s.out, 'nothing after stop()').to.have.length(n);
    });

    it('clear() erases the line for a message; the next update redraws at once', () => {
      const s = sink(true);
      let t = 0;
      const p = createProgress({ stream: s, label: 'x', total: 10, now: () => t });
      p.update(1);
      p.clear();
      expect(s.out.at(-1)).to.equal('\r\x1b[K');
      p.clear(); // already clear: nothing
      expect(s.out).to.have.length(2);
      p.update(2); // same instant, but the bar is not on screen: drawn
      expect(s.out).to.have.length(3);
      expect(s.out.at(-1)).to.match(/^\rx \[.*\] +20\.0% 2\/10 /);
      createProgress({ stream: sink(false), label: 'x', total: 10 }).clear();
    });

    it('stop() or clear() without any draw writes nothing', () => {
      const s = sink(true);
      const p = createProgress({ stream: s, label: 'x', total: 10 });
      p.clear();
      p.stop();
      expect(s.out).to.deep.equal([]);
    });

    it('done() without any draw writes nothing', () => {
      const s = sink(true);
      createProgress({ stream: s, label: 'x', total: 10 }).done();
      expect(s.out).to.deep.equal([]);
    });
  });
});
