/**
 * Bybit's public market-data client for the candle downloader (lib/data/download.ts): the SDK stays inside
 * the Bybit adapter, and the downloader gets it from here.
 */
export { RestClientV5 as PublicRestClient } from 'bybit-api';
export type { RestClientV5 } from "bybit-api";
