/**
 * Fault injection: what a flaky exchange does to a client, switchable at run time from tests (the
 * `faults` object of a running sandbox) and from `pyr sandbox` flags.
 *
 * "Next N" faults are consumed one per REST request; "every N" faults hit every Nth REST request (counted
 * from when they were set). When several apply to one request, refusal wins over an IP ban (403), the ban
 * over 5xx, 5xx over 10006.
 */

export type RestFault =
  | { readonly kind: 'refuse' }
  | { readonly kind: 'status'; readonly status: number; readonly text?: string }
  | { readonly kind: 'rateLimit'; readonly resetInMs?: number };

export interface OrderRejection {
  readonly retCode: number;
  readonly retMsg: string;
}

export interface FaultHooks {
  /** Closes every WebSocket connection from the server side. */
  dropWebSockets(): number;
}

export class Faults {
  /** Milliseconds added before every REST answer. */
  restDelayMs = 0;
  /** Added to the server's wall clock (auth checks, market/time, envelope `time`): simulates clock drift. */
  clockSkewMs = 0;
  private refuseLeft = 0;
  private statusLeft = 0;
  private status = 503;
  private rateLimitLeft = 0;
  private rateLimitResetMs: number | undefined;
  /** Wall-clock ms until which every REST request is answered HTTP 403 (an IP ban). */
  private banUntil = 0;
  private every = { refuse: 0, status: 0, rateLimit: 0 };
  private counters = { refuse: 0, status: 0, rateLimit: 0 };
  private everyStatus = 503;
  private rejections: OrderRejection[] = [];
  private privateLossLeft = 0;
  private authDropLeft = 0;
  private authIgnoreLeft = 0;
  private authDropEvery = 0;
  private authCount = 0;
  /** "Next N" faults may target one path (e.g. /v5/order/create); other requests pass untouched. */
  private paths: { refuse?: string; status?: string; rateLimit?: string } = {};
  private dropTimer: NodeJS.Timeout | undefined;

  constructor(private readonly hooks: FaultHooks) {}

  /** Closes all WebSocket connections now (clients see a server-side close and reconnect). Returns how many. */
  dropWebSockets(): number {
    return this.hooks.dropWebSockets();
  }

  /** Closes all WebSocket connections every `seconds` (0 stops). */
  dropWebSocketsEvery(seconds: number): void {
    if (this.dropTimer) clearInterval(this.dropTimer);
    this.dropTimer = undefined;
    if (seconds > 0) {
      this.dropTimer = setInterval(() => this.hooks.dropWebSockets(), seconds * 1000);
      this.dropTimer.unref();
    }
  }

  /** Delays every REST answer by `ms` (0 stops). */
  delayRest(ms: number): void {
    this.restDelayMs = Math.max(0, ms);
  }

  /** Destroys the socket of the next `n` REST requests (to `path` only, when given) without answering. */
  refuseRest(n = 1, path?: string): void {
    this.refuseLeft = n;
    this.paths.refuse = path;
  }

  /**
   * Answers retCode 10006 "Too many visits!" to the next `n` REST requests (to `path` only, when given).
   * With `resetInMs`, a signed endpoint's X-Bapi-Limit-Reset-Timestamp says the window resets that many ms
   * from now (otherwise the window's own reset, at least 1 ms ahead).
   */
  rateLimit(n = 1, path?: string, resetInMs?: number): void {
    this.rateLimitLeft = n;
    this.paths.rateLimit = path;
    this.rateLimitResetMs = resetInMs;
  }

  /**
   * Bans the client's IP for `ms` of wall time: every REST request, public or signed, is answered HTTP 403
   * "access too frequent" until then, as Bybit does for about 10 minutes after its IP limit (0 lifts it).
   */
  ipBan(ms: number): void {
    this.banUntil = ms > 0 ? Date.now() + ms : 0;
  }

  /** Answers HTTP `status` (default 503) to the next `n` REST requests (to `path` only, when given). */
  serverError(n = 1, status = 503, path?: string): void {
    this.statusLeft = n;
    this.status = status;
    this.paths.status = path;
  }

  /** Periodic variants (0 stops): every Nth REST request is refused / answered 5xx / rate limited. */
  refuseEvery(n: number): void {
    this.every.refuse = n;
    this.counters.refuse = 0;
  }
  serverErrorEvery(n: number, status = 503): void {
    this.every.status = n;
    this.counters.status = 0;
    this.everyStatus = status;
  }
  rateLimitEvery(n: number): void {
    this.every.rateLimit = n;
    this.counters.rateLimit = 0;
  }

  /**
   * Loses the next `n` private stream messages (order, execution, position, wallet) without closing any
   * connection: what a client sees when the exchange's push is late or lost.
   */
  losePrivateMessages(n = 1): void {
    this.privateLossLeft = n;
  }

  /** @internal Whether the private message being published now is lost (consumes the counter). */
  takePrivateLoss(): boolean {
    if (this.privateLossLeft <= 0) return false;
    this.privateLossLeft--;
    return true;
  }

  /**
   * Closes the connection of the next `n` WebSocket `auth` requests instead of answering them: the
   * connection is lost in the middle of the handshake, as happens when a network blip meets a reconnect.
   */
  dropNextAuths(n = 1): void {
    this.authDropLeft = n;
  }

  /** Leaves the next `n` WebSocket `auth` requests unanswered; their connections stay open (a lost answer). */
  ignoreNextAuths(n = 1): void {
    this.authIgnoreLeft = n;
  }

  /** @internal Whether the `auth` request arriving now goes unanswered (consumes the counter). */
  takeAuthIgnore(): boolean {
    if (this.authIgnoreLeft <= 0) return false;
    this.authIgnoreLeft--;
    return true;
  }

  /** Periodic variant (0 stops): every Nth WebSocket `auth` request loses its connection, unanswered. */
  dropAuthEvery(n: number): void {
    this.authDropEvery = Math.max(0, n);
    this.authCount = 0;
  }

  /** @internal Whether the `auth` request arriving now loses its connection (consumes the counter). */
  takeAuthDrop(): boolean {
    const periodic = this.authDropEvery > 0 && ++this.authCount % this.authDropEvery === 0;
    if (this.authDropLeft > 0) {
      this.authDropLeft--;
      return true;
    }
    return periodic;
  }

  /** Rejects the next order/create with this retCode (HTTP 200), before it reaches the matching engine. */
  rejectNextOrder(retCode: number, retMsg = 'Rejected by sandbox fault injection'): void {
    this.rejections.push({ retCode, retMsg });
  }

  /** Shifts the server's wall clock by `ms` (signatures then look expired or early to it). */
  clockSkew(ms: number): void {
    this.clockSkewMs = ms;
  }

  /** Turns every fault off. */
  clear(): void {
    this.restDelayMs = 0;
    this.clockSkewMs = 0;
    this.refuseLeft = this.statusLeft = this.rateLimitLeft = this.privateLossLeft = this.authDropLeft = this.authIgnoreLeft = 0;
    this.dropAuthEvery(0);
    this.rateLimitResetMs = undefined;
    this.banUntil = 0;
    this.paths = {};
    this.every = { refuse: 0, status: 0, rateLimit: 0 };
    this.rejections = [];
    this.dropWebSocketsEvery(0);
  }

  /** @internal Which fault, if any, applies to the REST request arriving now (consumes counters). */
  takeRestFault(path?: string): RestFault | undefined {
    const hits = (k: 'refuse' | 'status' | 'rateLimit'): boolean => this.paths[k] === undefined || this.paths[k] === path;
    const tick = (k: 'refuse' | 'status' | 'rateLimit'): boolean => {
      if (this.every[k] <= 0) return false;
      this.counters[k] += 1;
      return this.counters[k] % this.every[k] === 0;
    };
    const periodicRefuse = tick('refuse');
    const periodicStatus = tick('status');
    const periodicRate = tick('rateLimit');
    if ((this.refuseLeft > 0 && hits('refuse')) || periodicRefuse) {
      if (this.refuseLeft > 0 && hits('refuse')) this.refuseLeft--;
      return { kind: 'refuse' };
    }
    if (Date.now() < this.banUntil) return { kind: 'status', status: 403, text: '403 access too frequent (sandbox IP ban)' };
    if (this.statusLeft > 0 && hits('status')) {
      this.statusLeft--;
      return { kind: 'status', status: this.status };
    }
    if (periodicStatus) return { kind: 'status', status: this.everyStatus };
    if ((this.rateLimitLeft > 0 && hits('rateLimit')) || periodicRate) {
      if (this.rateLimitLeft > 0 && hits('rateLimit')) {
        this.rateLimitLeft--;
        if (this.rateLimitResetMs !== undefined) return { kind: 'rateLimit', resetInMs: this.rateLimitResetMs };
      }
      return { kind: 'rateLimit' };
    }
    return undefined;
  }

  /** @internal The rejection queued for the next order, if any (consumed). */
  takeOrderRejection(): OrderRejection | undefined {
    return this.rejections.shift();
  }

  /** @internal Stops timers (sandbox shutdown). */
  dispose(): void {
    this.dropWebSocketsEvery(0);
  }
}
