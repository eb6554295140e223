import { ConfigError } from '../core/index.ts';

/** Constructor-argument checks shared by the indicators; messages name the indicator and the option. */
export function positiveInt(owner: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${owner}: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function nonNegativeFinite(owner: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${owner}: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}
