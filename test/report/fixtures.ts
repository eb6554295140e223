/** Hand-made RunRecords and Trades for the report tests. */
import { D, type ExitReason, type PositionSide, type RunRecord, type Trade } from '../../lib/core/index.ts';

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** 2024-01-01T00:00:00Z */
export const T0 = Date.UTC(2024, 0, 1);

export interface TradeSpec {
  net: string;
  fees?: string;
  funding?: string;
  side?: PositionSide;
  exitReason?: ExitReason;
  entryTime?: number;
  exitTime?: number;
  ambiguous?: boolean;
  ifTargetFirst?: string;
  entryReason?: string;
  exitDetail?: string;
  entryFee?: string;
  stopLoss?: string;
  takeProfit?: string;
}

/** A closed trade whose gross PnL is net + fees + funding (so netPnl = grossPnl − fees − funding holds). */
export function trade(id: number, s: TradeSpec): Trade {
  const fees = new D(s.fees ?? '0');
  const funding = new D(s.funding ?? '0');
  const net = new D(s.net);
  const entryFee = new D(s.entryFee ?? fees.div(2));
  const entryTime = s.entryTime ?? T0 + id * 10 * MIN;
  return {
    id,
    side: s.side ?? 'long',
    signalTime: entryTime - MIN,
    entryTime,
    exitTime: s.exitTime ?? entryTime + 2 * MIN,
    entryPrice: new D('100'),
    exitPrice: new D('101'),
    qty: new D('0.01'),
    ...(s.stopLoss !== undefined ? { stopLoss: new D(s.stopLoss) } : {}),
    ...(s.takeProfit !== undefined ? { takeProfit: new D(s.takeProfit) } : {}),
    exitReason: s.exitReason ?? 'signal',
    entryFee,
    exitFee: fees.minus(entryFee),
    fees,
    funding,
    grossPnl: net.plus(fees).plus(funding),
    netPnl: net,
    entryReason: s.entryReason ?? 'test entry',
    exitDetail: s.exitDetail ?? 'test exit',
    ambiguous: s.ambiguous ?? false,
    ...(s.ifTargetFirst !== undefined ? { netPnlIfTargetFirst: new D(s.ifTargetFirst) } : {}),
    qtyRaisedToMin: false,
  };
}

export interface RunSpec {
  times: number[];
  equity: number[];
  closes?: number[];
  exposure?: number[];
  firstOpen?: number;
  intervalMs?: number;
  initialBalance?: number;
  trades?: Trade[];
  notices?: string[];
}

export function makeRun(s: RunSpec): RunRecord {
  return {
    meta: {
      runId: 'test-run-1',
      strategy: 'stoch_rsi',
      symbol: 'BTCUSDT',
      category: 'linear',
      interval: '1',
      from: '2024-01-01',
      to: '2024-01-01',
      params: { k: 14, d: 3 },
      rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5', source: 'test rules' },
      fillModel: { slippageBps: 2, takerFee: 0.00055, makerFee: 0.0002, minQtyPolicy: 'raise' },
      initialBalance: s.initialBalance ?? 1000,
      funding: { charged: false, detail: 'no funding file' },
      notices: s.notices ?? [],
      source: 'data/test.csv',
      warmupCandles: 0,
    },
    times: Float64Array.from(s.times),
    closes: Float64Array.from(s.closes ?? s.times.map(() => 100)),
    firstOpen: s.firstOpen ?? 100,
    equity: Float64Array.from(s.equity),
    exposure: Uint8Array.from(s.exposure ?? s.times.map(() => 0)),
    intervalMs: s.intervalMs ?? MIN,
    trades: s.trades ?? [],
  };
}

/** n candles `step` ms apart from `start`. */
export function grid(start: number, n: number, step: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i * step);
}

/**
 * The seed's example run: 5 trades, Total PnL $5.23, Win Rate 60.00% (3/5), on 60 one-minute candles
 * of 2024-01-01. Net PnL per trade, in order: +2.50, +3.00, −1.00, 0, +0.73.
 */
export function seedRun(): RunRecord {
  const trades = [
    // 1m candles: durations on the candle grid (exits inside a candle count that candle).
    trade(1, { net: '2.50', fees: '0.1', funding: '0.01', side: 'long', exitReason: 'take_profit', entryTime: T0 + 1 * MIN, exitTime: T0 + 5 * MIN }),
    trade(2, { net: '3.00', fees: '0.2', funding: '-0.02', side: 'short', exitReason: 'signal', entryTime: T0 + 10 * MIN, exitTime: T0 + 20 * MIN }),
    trade(3, { net: '-1.00', fees: '0.1', side: 'long', exitReason: 'stop_loss', entryTime: T0 + 30 * MIN, exitTime: T0 + 31 * MIN, ambiguous: true, ifTargetFirst: '1.90' }),
    trade(4, { net: '0', fees: '0.2', side: 'long', exitReason: 'signal', entryTime: T0 + 40 * MIN, exitTime: T0 + 43 * MIN }),
    trade(5, { net: '0.73', fees: '0.1', funding: '0.005', side: 'short', exitReason: 'end_of_data', entryTime: T0 + 50 * MIN, exitTime: T0 + 59 * MIN }),
  ];
  const times = grid(T0, 60, MIN);
  const equity = times.map(() => 1000);
  equity[59] = 1005.23;
  const closes = times.map(() => 100);
  closes[59] = 110;
  // 15 of 60 candles exposed.
  const exposure = times.map((_, i) => (i < 15 ? 1 : 0));
  return makeRun({ times, equity, closes, exposure, firstOpen: 100, trades, notices: ['qty raised to the minimum 0.001 on 1 entry'] });
}
