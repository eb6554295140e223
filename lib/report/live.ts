/**
 * The live console: the seed's lines for what the live loop does (signals, orders, positions, trades,
 * the statistics line), written through the session logger (UTC timestamps, colour only on a TTY, JSON
 * lines with --json). lib/engine/live.ts calls it; it never decides anything.
 */
import type { Logger } from './console.ts';
import { formatTradeStatsLine, tradeStats } from './console.ts';
import type { LiveView } from '../engine/index.ts';
import type { PlotDeclaration, Strategy } from '../strategy/index.ts';

type Status = ReturnType<NonNullable<Strategy['status']>>;

/**
 * What the strategy declared to plot, as console lines: one line per pane, `📈 StochRSI K: 54.12, D: 50.00`
 * (the seed's line); series over the price are written without a title.
 */
export function plotLines(declared: PlotDeclaration | undefined, values: readonly (number | undefined)[] | undefined): string[] {
  if (!declared || !values) return [];
  const panes = new Map<string, string[]>();
  declared.series.forEach((p, k) => {
    const v = values[k];
    if (p.console === false) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    const pane = p.pane ?? 'price';
    if (!panes.has(pane)) panes.set(pane, []);
    panes.get(pane)!.push(`${p.name}: ${v.toFixed(p.decimals ?? 2)}`);
  });
  return [...panes].map(([pane, parts]) => `📈 ${pane === 'price' ? '' : `${pane} `}${parts.join(', ')}`);
}

/** The strategy's status as console lines: its indicators (when it declares no plots) and its levels. */
export function statusLines(status: Status | undefined, withIndicators: boolean): string[] {
  const out: string[] = [];
  const ind = status?.indicators;
  if (withIndicators && ind && Object.keys(ind).length > 0) out.push(Object.entries(ind).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join(', '));
  if (status?.resistances?.length) out.push(`Resistance Levels Detected:\n${status.resistances.map((l) => `  - ${l.price.toFixed(2)} (${l.label})`).join('\n')}`);
  if (status?.supports?.length) out.push(`Support Levels Detected:\n${status.supports.map((l) => `  - ${l.price.toFixed(2)} (${l.label})`).join('\n')}`);
  return out;
}

export function liveConsole(log: Logger, o: { symbol: string; feed: string; plots?: PlotDeclaration }): LiveView {
  return {
    warmedUp: (n, wanted) => log.info(`Warm-up: ${n} closed candles${n < wanted ? ` (the strategy asks for ${wanted}: early values are unsettled)` : ''}`),
    trading: () => log.info(`Trading ${o.symbol}; ${o.feed}. Ctrl-C stops.`),
    candle: (c, engine) => {
      log.info(`Current price: ${c.close.toFixed(2)} (candle ${new Date(c.openTime).toISOString().slice(0, 16).replace('T', ' ')} UTC closed)`);
      const declared = o.plots && engine.strategy.plot ? o.plots : undefined;
      for (const line of plotLines(declared, declared ? engine.strategy.plot!() : undefined)) log.info(line);
      for (const line of statusLines(engine.strategy.status?.(), !declared)) log.info(line);
    },
    decision: (d, lastClose) => {
      for (const i of d.intents) {
        if (i.kind === 'enter') log.info(`💡 Detected ${i.side === 'long' ? 'BUY' : 'SELL'} signal at ${lastClose.toFixed(2)} (Info: ${i.reason})`);
        else log.info(`💡 Detected EXIT signal at ${lastClose.toFixed(2)} (Info: ${i.reason})`);
      }
      // The engine's own decisions (no intent): an expired order's cancel.
      if (d.intents.length === 0) for (const out of d.outcomes) if ('cancel' in out) log.info(`Cancelling order ${out.cancel.orderId}: ${out.cancel.reason}`);
    },
    event: (e, lastClose, trades) => {
      switch (e.type) {
        case 'position': {
          const p = e.position;
          if (p.side !== 'flat') {
            const upnl = Number.isFinite(lastClose) ? (lastClose - p.entryPrice.toNumber()) * p.qty.toNumber() * (p.side === 'long' ? 1 : -1) : 0;
            log.info(`💼 Open Position (WS): ${p.side === 'long' ? 'Buy' : 'Sell'} ${p.qty.toFixed(4)} ${o.symbol} at ${p.entryPrice.toFixed(2)}. Unrealized PnL: ${upnl.toFixed(4)}`);
          } else log.info(`Position closed for ${o.symbol} (WS).`);
          return;
        }
        case 'trade': {
          const t = e.trade;
          const pnl = `${t.netPnl.gte(0) ? '+' : ''}${t.netPnl.toFixed(4)}`;
          (t.netPnl.gt(0) ? log.success : log.warn)(`Trade ${t.id} closed (${t.exitReason}): ${t.side} ${t.qty.toFixed()} ${o.symbol} ${t.entryPrice.toFixed()} → ${t.exitPrice.toFixed()}, net ${pnl} USDT (fees ${t.fees.toFixed()})`);
          log.info(formatTradeStatsLine(tradeStats(trades)));
          return;
        }
        case 'rejected':
          log.error(`Order ${e.order.id} not placed${e.code !== undefined ? ` (retCode ${e.code})` : ''}: ${e.reason}`);
          return;
        case 'notice':
          log.info(e.message);
          return;
        default:
          return;
      }
    },
    guard: (reason) => log.warn(reason),
    warning: (text) => log.warn(text),
    notice: (text) => log.info(text),
    invalidIntent: (err) => log.error(err.message),
    stopping: () => log.info('Stopping: no new decisions; waiting for orders in flight…'),
    closingOnExit: () => log.info('--close-on-exit: closing the open position'),
    stopped: (pos, trades) => {
      if (pos.side !== 'flat') log.warn(`A ${pos.side} position of ${pos.qty.toFixed()} ${o.symbol} stays open on the exchange with its stop loss and take profit.`);
      log.info(formatTradeStatsLine(tradeStats(trades)));
    },
  };
}
