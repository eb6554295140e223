/**
 * Which Bybit a `pyr live` session talks to, and with what: the environment (testnet unless told
 * otherwise; mainnet only with its confirmation; paper on mainnet's market data unless --testnet), the
 * REST and WebSocket URLs (both overridden or neither, so orders and the position stream reach the same
 * exchange) and the API keys. Pure: the command passes its flags and what the environment holds.
 */
import { ConfigError } from '../../core/index.ts';
import { isBybitHost, type BybitEnv } from './client.ts';

export interface ConnectionFlags {
  readonly testnet?: boolean;
  readonly demo?: boolean;
  readonly mainnet?: boolean;
  readonly paper?: boolean;
  readonly yesReallyTradeRealMoney?: boolean;
  readonly closeOnExit?: boolean;
  /** The URL overrides, already taken from the flags, the environment or the config file. */
  readonly restUrl?: string;
  readonly wsUrl?: string;
  readonly key?: string;
  readonly secret?: string;
  /** Where the keys are read from besides the environment (the .env file), for the message. */
  readonly keysFile: string;
}

export interface Connection {
  readonly env: BybitEnv;
  readonly paper: boolean;
  readonly restUrl?: string;
  readonly wsUrl?: string;
  /** Empty in paper mode (no key is used). */
  readonly key: string;
  readonly secret: string;
  /** Both URLs point somewhere other than Bybit (the local exchange: a test or a rehearsal). */
  readonly local: boolean;
}

/** The session's connection, or a ConfigError naming the flag. */
export function chooseConnection(f: ConnectionFlags): Connection {
  const chosen = [f.testnet && 'testnet', f.demo && 'demo', f.mainnet && 'mainnet'].filter(Boolean);
  if (chosen.length > 1) throw new ConfigError(`choose one of --testnet, --demo, --mainnet (got ${chosen.join(', ')})`);
  const paper = f.paper === true;
  const env: BybitEnv = paper ? (f.testnet ? 'testnet' : 'mainnet') : f.mainnet ? 'mainnet' : f.demo ? 'demo' : 'testnet';
  if (paper && (f.yesReallyTradeRealMoney || f.demo || f.closeOnExit)) throw new ConfigError(`--paper sends no order: ${f.yesReallyTradeRealMoney ? '--yes-really-trade-real-money' : f.demo ? '--demo' : '--close-on-exit'} does not apply`);
  if (!paper && env === 'mainnet' && !f.yesReallyTradeRealMoney) throw new ConfigError('--mainnet trades real money: add --yes-really-trade-real-money to confirm');
  if (f.yesReallyTradeRealMoney && env !== 'mainnet') throw new ConfigError(`--yes-really-trade-real-money confirms --mainnet, which was not given (this session would trade on ${env})`);
  const key = paper ? '' : f.key;
  const secret = paper ? '' : f.secret;
  if (!paper && (!key || !secret)) throw new ConfigError(`BYBIT_API_KEY and BYBIT_API_SECRET must be set in the environment or in ${f.keysFile} (${env} keys)`);
  const overridden = (u: string | undefined) => u !== undefined && !isBybitHost(u);
  if (overridden(f.restUrl) && f.wsUrl === undefined) throw new ConfigError(`--rest-url ${f.restUrl} without --ws-url: orders would go there and the position stream to Bybit ${env}; give both (or PYR_BYBIT_REST_URL and PYR_BYBIT_WS_URL)`);
  if (overridden(f.wsUrl) && f.restUrl === undefined) throw new ConfigError(`--ws-url ${f.wsUrl} without --rest-url: the position stream would come from there and orders go to Bybit ${env}; give both (or PYR_BYBIT_REST_URL and PYR_BYBIT_WS_URL)`);
  return { env, paper, restUrl: f.restUrl, wsUrl: f.wsUrl, key: key!, secret: secret!, local: overridden(f.restUrl) };
}

/** An API key as the console shows it: its first 4 characters and its length. */
export function maskKey(key: string): string {
  return key.length <= 4 ? '****' : `${key.slice(0, 4)}…(${key.length} chars)`;
}
