export { startSandbox, type Sandbox, type SandboxOptions, type SandboxState, type ClockMode } from './exchange.ts';
export type { RestRequestInfo } from './rest.ts';
export { MarketReplay, fundingRows, type Bar, type FundingRow, type MarketEvent, type PricePoint } from './market.ts';
export { MatchingEngine, EngineError, type OrderParams, type PrivateTopic, type PriceSource } from './engine.ts';
export { Faults } from './faults.ts';
export { makeInstrument, type SandboxInstrument, type InstrumentOverrides } from './instrument.ts';
export { checkRestSignature, checkWsAuth, hmacHex } from './auth.ts';
