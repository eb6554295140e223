/** lib/config: the run spec, resolved purely from defaults, a config file's contents, flags and --param. */
import { expect } from 'chai';
import path from 'node:path';
import { ConfigError } from '../../lib/core/index.ts';
import { MAKER_FEE, TAKER_FEE, instrumentId, paramLayersOf, parseConfigText, resolveRunSpec, resolveRunTarget } from '../../lib/config/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';

const cwd = '/home/trader/desk';
const sample = { candles: '/opt/pyr/data/sample/BTCUSDT-15m.csv', funding: '/opt/pyr/data/sample/BTCUSDT-funding.csv' };

function refused(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('lib/config: run targets and run specs', () => {
  it('a target from flags over a config file: flags win, paths resolve against the working directory', () => {
    const config = parseConfigText('{ "symbol": "ethusdt", "interval": "5", "dataDir": "store", "from": "2024-01-01", "params": { "oversold": 25 } }', 'pyr.config.json');
    const t = resolveRunTarget({ symbol: 'btcusdt', to: '2024-01-31', candles: 'c.csv' }, { file: '/home/trader/desk/pyr.config.json', config }, cwd);
    expect(t.instrument).to.deep.equal({ exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' });
    expect(instrumentId(t.instrument)).to.equal('bybit:linear:BTCUSDT');
    expect(t.interval).to.equal('5');
    expect(t.intervalGiven).to.equal(true);
    expect(t.data).to.deep.equal({ kind: 'file', file: path.join(cwd, 'c.csv'), funding: undefined, sample: false });
    expect(t.range).to.deep.equal({ fromText: '2024-01-01', toText: '2024-01-31', from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 0, 31) });
    const store = resolveRunTarget({}, { config: {} }, cwd);
    expect(store.data).to.deep.equal({ kind: 'store', dataDir: path.join(cwd, 'data'), funding: undefined });
    expect(store.intervalGiven).to.equal(false);
  });

  it('the sample: its own files, BTCUSDT 15m only', () => {
    const t = resolveRunTarget({ sample: true }, { config: {} }, cwd, sample);
    expect(t.data).to.deep.equal({ kind: 'file', file: sample.candles, funding: sample.funding, sample: true });
    expect(refused(() => resolveRunTarget({ sample: true, funding: 'f.csv' }, { config: {} }, cwd, sample))).to.match(/--sample and --funding/);
    expect(refused(() => resolveRunTarget({ from: '2024-02-01', to: '2024-01-01' }, { config: {} }, cwd))).to.match(/--from 2024-02-01 is after --to 2024-01-01/);
  });

  it('a spec layers defaults, the config file and --param, and names the layer of a bad key', () => {
    const config = { file: '/x/pyr.config.json', config: parseConfigText('{ "params": { "oversold": 25, "takerFee": 0.0004 } }', '/x/pyr.config.json') };
    const layers = paramLayersOf(seed, config, ['oversold=15', 'qtyStep=0.01']);
    const spec = resolveRunSpec({ definition: seed, strategyFile: '/x/strategies/stochrsi-scalper.ts', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers });
    expect(spec.strategy.params.oversold).to.equal(15);
    expect(spec.strategy.params.overbought).to.equal(80);
    expect(spec.strategy.label).to.equal('stochrsi-scalper');
    expect(spec.strategy.warmup).to.equal(14 + 14 + 3 + 3 + 400);
    expect(spec.fillModel).to.deep.equal({ slippageBps: 0, takerFee: 0.0004, makerFee: MAKER_FEE, minQtyPolicy: 'raise' });
    expect(spec.rules.qtyStep.toString()).to.equal('0.01');
    expect(spec.rules.source).to.equal('built-in rules for BTCUSDT with --param qtyStep');
    expect(spec.live).to.deep.equal({ pollingIntervalSeconds: 10, candleFetchLimit: 200, apiRequestRetries: 3, apiBackoffFactor: 0.5, reconcileSeconds: 10 });
    expect(spec.guards).to.deep.equal({ maxDailyLoss: undefined, maxConsecutiveLosses: undefined, maxPositionNotional: undefined });
    expect(TAKER_FEE).to.equal(0.00055);
    const bad = refused(() => resolveRunSpec({ definition: seed, strategyFile: 'x', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers: [{ where: '/x/pyr.config.json', values: { oversould: 20 } }] }));
    expect(bad).to.match(/^\/x\/pyr\.config\.json: unknown parameter "oversould".*oversold/);
  });

  it('a symbol without rules needs a snapshot or --param, and a snapshot wins over the built-in rules', () => {
    const base = { definition: seed, strategyFile: 'x', interval: '15' as const, layers: [] };
    expect(refused(() => resolveRunSpec({ ...base, instrument: { exchange: 'bybit', category: 'linear', symbol: 'PEPEUSDT' } }))).to.match(/no instrument rules for PEPEUSDT/);
    const spec = resolveRunSpec({ ...base, instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, snapshot: { file: 'data/bybit/linear/instruments.json', rules: { tickSize: '0.5', qtyStep: '0.001', minQty: '0.002', minNotional: '5' } } });
    expect(spec.rules.tickSize.toString()).to.equal('0.5');
    expect(spec.rules.source).to.equal('instruments snapshot data/bybit/linear/instruments.json');
  });

  it('config file text errors name line and column, unknown keys the closest one', () => {
    expect(refused(() => parseConfigText('{\n "symbol": 1\n}', 'c.json'))).to.equal('c.json: "symbol" must be a string');
    expect(refused(() => parseConfigText('{ "sybmol": "BTCUSDT" }', 'c.json'))).to.match(/unknown key "sybmol".*symbol/);
    expect(refused(() => parseConfigText('{\n  "symbol": "BTCUSDT",,\n}', 'c.json'))).to.match(/^c\.json: line 2, column 23: not valid JSON/);
  });
});
