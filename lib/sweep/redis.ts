/**
 * Redis for the sweep queue: bullmq and ioredis loaded on demand (a command that does not use the queue
 * never loads them), connections with bounded retries, and the one-line errors that name the URL.
 *
 * Every connection gives up after a bounded number of attempts (about `RETRY_MS` in all): Redis down at
 * start is an error at once, Redis lost for longer than that ends the command with an error naming the
 * URL instead of waiting forever.
 */
import { ConfigError, PyrError } from '../core/index.ts';

type BullMq = typeof import('bullmq');
type IoRedisModule = typeof import('ioredis');
export type RedisClient = import('ioredis').Redis;

let loaded: Promise<{ bullmq: BullMq; Redis: IoRedisModule['Redis'] }> | undefined;

/** bullmq and ioredis, imported the first time they are needed. */
export function loadQueueModules(): Promise<{ bullmq: BullMq; Redis: IoRedisModule['Redis'] }> {
  loaded ??= Promise.all([import('bullmq'), import('ioredis')]).then(([bullmq, io]) => ({ bullmq, Redis: io.Redis ?? (io as unknown as { default: IoRedisModule['Redis'] }).default }));
  return loaded;
}

/** How long a lost connection is retried before the command gives up (ms). */
const RETRY_MS = Number(process.env.PYR_QUEUE_RETRY_MS ?? 30_000);
/** How long one connection attempt may take (ms). */
const CONNECT_TIMEOUT_MS = 5_000;

/** The URL as messages show it: any password replaced by ***. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Checks the `--queue` value: redis://[user:pass@]host[:port][/db] or rediss://... */
export function parseQueueUrl(text: string, flag = '--queue'): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ConfigError(`${flag}: expected a Redis URL such as redis://127.0.0.1:6379/0, got "${text}"`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ConfigError(`${flag}: expected a redis:// or rediss:// URL, got "${text}"`);
  if (!u.hostname) throw new ConfigError(`${flag}: the URL has no host: "${text}"`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new ConfigError(`${flag}: the database in the URL must be a number (redis://host:port/0), got "/${db}"`);
  return text;
}

export class RedisUnreachableError extends PyrError {}

/**
 * A connection set: every client made by `client()` shares the retry policy, and the first one that
 * gives up calls `onLost` once (the command then stops with that error).
 */
export interface Connections {
  readonly url: string;
  /** A new client; `blocking` ones (bullmq workers and events) never fail a command for its retries. */
  client(): RedisClient;
  /** Resolves when a client gave up; never rejects. */
  readonly lost: Promise<PyrError>;
  closeAll(): Promise<void>;
}

/**
 * Connects once to check Redis is there (a clear error at once if not), then returns the connection
 * set for bullmq and pyr's own keys.
 */
export async function connect(url: string): Promise<Connections> {
  const { Redis } = await loadQueueModules();
  const shown = shownUrl(url);
  const probe = new Redis(url, { disconnectTimeout: 100, lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let lastError = '';
  probe.on('error', (e: Error) => (lastError = codeOf(e)));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    probe.disconnect();
    throw new RedisUnreachableError(`cannot reach Redis at ${shown}: ${lastError || codeOf(err as Error)}; start it (redis-server) or fix --queue`);
  } finally {
    probe.disconnect();
  }

  const clients: RedisClient[] = [];
  let signal!: (e: PyrError) => void;
  const lost = new Promise<PyrError>((resolve) => (signal = resolve));
  let closing = false;
  const attempts = Math.max(1, Math.ceil(RETRY_MS / 1000));
  return {
    url,
    lost,
    client() {
      let last = '';
      const c = new Redis(url, {
        maxRetriesPerRequest: null,
        connectTimeout: CONNECT_TIMEOUT_MS,
        // ioredis waits this long for a socket to end after disconnect() (2 s by default): the exit waited too
        disconnectTimeout: 100,
        retryStrategy: (times: number) => (times > attempts ? null : 1000),
      });
      c.on('error', (e: Error) => (last = codeOf(e)));
      c.on('end', () => {
        if (!closing) signal(new RedisUnreachableError(`lost the connection to Redis at ${shown}${last ? ` (${last})` : ''} and could not reconnect within ${Math.round(RETRY_MS / 1000)} s`));
      });
      clients.push(c);
      return c;
    },
    async closeAll() {
      closing = true;
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

function codeOf(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ? `${code}${e.message && !e.message.includes(code) ? ` (${e.message})` : ''}` : e.message;
}
