/**
 * pyr's error taxonomy. Every error pyr throws is one of these, so the CLI can print one clear line
 * and pick the exit code: configuration and input problems exit 2, everything else 1.
 */
export class PyrError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad flag, config key, parameter value or date. Names the flag or key. */
export class ConfigError extends PyrError {
  override readonly exitCode: number = 2;
}

/** Bad or missing data: names the file, and the line and field when there is one. */
export class DataError extends PyrError {
  override readonly exitCode: number = 2;
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
  constructor(message: string, where: { file?: string; line?: number; field?: string } = {}, options?: { cause?: unknown }) {
    const loc = [where.file, where.line !== undefined ? `line ${where.line}` : undefined, where.field !== undefined ? `field "${where.field}"` : undefined]
      .filter(Boolean)
      .join(', ');
    super(loc ? `${loc}: ${message}` : message, options);
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }
}

/** The candles asked for are not there; the message says how to get them. */
export class MissingDataError extends DataError {}

/**
 * A strategy threw or broke its contract; names the strategy. A strategy that crashes while running exits
 * 1; one that breaks its contract (a bad intent, a bad warm-up, a file that does not load) is bad input
 * and exits 2 (`{ exitCode: 2 }`).
 */
export class StrategyError extends PyrError {
  override readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** The exchange answered with an error. `retryable` tells the retry loop whether trying again can help. */
export class ExchangeError extends PyrError {
  readonly retCode?: number;
  readonly retryable: boolean;
  constructor(message: string, opts: { retCode?: number; retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.retCode = opts.retCode;
    this.retryable = opts.retryable ?? false;
  }
}

/**
 * The exchange refused the credentials or their permissions (Bybit retCodes 10003 invalid key, 10004 bad
 * signature, 10005 permission denied, 10007 authentication failed, 10010 IP not whitelisted, 33004 key
 * expired; HTTP 401). Never retried: trying again cannot help, and a live session stops on it.
 */
export class ExchangeAuthError extends ExchangeError {}

/** True for an authentication or permission error (ExchangeAuthError). */
export function isAuthError(err: unknown): err is ExchangeAuthError {
  return err instanceof ExchangeAuthError;
}

/**
 * The exchange banned the client's IP (Bybit's HTTP 403, at least 10 minutes) or a request was not sent
 * because of such a ban: `pausedUntil` (epoch ms) is when the client sends again.
 */
export class ExchangeBannedError extends ExchangeError {
  readonly pausedUntil: number;
  constructor(message: string, opts: { pausedUntil: number; cause?: unknown }) {
    super(message, { retryable: false, cause: opts.cause });
    this.pausedUntil = opts.pausedUntil;
  }
}

/** Thrown when the caller's AbortSignal fires (Ctrl-C): exit code 130, as a shell reports SIGINT. */
export class InterruptedError extends PyrError {
  override readonly exitCode: number = 130;
}

/** An internal invariant broke: a bug in pyr, never the user's fault. */
export class InvariantError extends PyrError {}
