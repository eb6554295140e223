/**
 * The one pure path from a strategy's intent to a broker order, shared by backtest and live.
 * It decides whether an intent may be acted on now and what order expresses it; sizing and
 * stop/target prices are worked out by the broker with lib/core/sizing at the price it fills or sends at.
 */
import type { Intent, OrderRequest, Position } from '../core/index.ts';

export interface DecisionState {
  readonly position: Position;
  readonly orderInFlight: boolean;
  /** A stop loss or take profit closed a position during the candle being decided. */
  readonly stoppedThisCandle: boolean;
  /** Open time of the candle whose close decided. */
  readonly signalTime: number;
  /** A unique client order id for the order, if one is made. */
  readonly orderId: string;
}

export type IntentOutcome = { readonly order: OrderRequest } | { readonly skipped: string };

export function intentToOrder(intent: Intent, s: DecisionState): IntentOutcome {
  if (s.orderInFlight) return { skipped: 'an order is already in flight' };
  const side = s.position.side;
  if (intent.kind === 'enter') {
    if (side !== 'flat') return { skipped: `entry ignored: a ${side} position is open` };
    if (s.stoppedThisCandle) return { skipped: 'entry ignored: a stop loss or take profit fired on this candle' };
    if (intent.size.unit === 'quote' ? !(intent.size.amount > 0) : !(intent.size.qty > 0)) return { skipped: 'entry ignored: size must be positive' };
    return {
      order: {
        id: s.orderId,
        purpose: 'entry',
        side: intent.side === 'long' ? 'Buy' : 'Sell',
        positionSide: intent.side,
        size: intent.size,
        reduceOnly: false,
        stopLoss: intent.stopLoss,
        takeProfit: intent.takeProfit,
        reason: intent.reason,
        signalTime: s.signalTime,
      },
    };
  }
  if (side === 'flat') return { skipped: 'exit ignored: no position is open' };
  return {
    order: {
      id: s.orderId,
      purpose: 'exit',
      side: side === 'long' ? 'Sell' : 'Buy',
      positionSide: side,
      reduceOnly: true,
      reason: intent.reason,
      signalTime: s.signalTime,
    },
  };
}
