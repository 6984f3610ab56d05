import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import {
  InputError,
  isQiaoError,
  KeyGuard,
  loadScheme,
  newRunId,
  redactingLogger,
  runLoadedScheme,
  wireScheme,
  type AnyStateStore,
  type LoadedScheme,
  type Logger,
  type ResolvedEndpoint,
  type WiredScheme,
} from '@qiao/core';
import { diagnose } from '../lib/diagnose.js';
import { knownSecrets } from '../lib/secrets.js';
import { connectorResolver } from '../lib/resolver.js';
import { RedisLimiter } from './redis-limiter.js';
import { processWriteJob, RemoteTarget, type WriteJobData, type WriteJobResult } from './remote-target.js';

const SCHEME_FILE = /\.(ya?ml|json)$/i;
/** Every key qiao keeps in Redis starts with this. */
export const PREFIX = 'qiao';
export const RUNS_QUEUE = 'runs';
/**
 * A job whose worker stops renewing its lock for this long (killed, frozen) is taken back: the
 * stall check (every {@link STALL_INTERVAL_MS}, by any worker) moves it back to wait for another.
 */
export const LOCK_MS = 8000;
export const STALL_INTERVAL_MS = 4000;

export interface FleetOptions {
  /** redis://[:password@]host:port[/db] */
  redisUrl: string;
  /** The folder of scheme files (every worker gets the same one). */
  dir: string;
  /** The shared state (PostgreSQL). */
  store: AnyStateStore;
  logger: Logger;
  env?: Record<string, string | undefined>;
  /**
   * What every Redis key of this fleet starts with: fleets with their own schemes sharing one Redis
   * each take their own. @default 'qiao'
   */
  prefix?: string;
  /** Run jobs one worker takes at once. @default 2 */
  runConcurrency?: number;
  /** What this process is, as the page lists it. @default 'worker' */
  role?: 'worker' | 'serve';
}

/** A worker of the fleet, as its heartbeat in Redis tells it (`GET /api/workers`). */
export interface FleetWorker {
  id: string;
  host: string;
  pid: number;
  role: 'worker' | 'serve';
  startedAt: string;
  seenAt: string;
  /** The runs this worker is reading now. */
  runs: Array<{ scheme: string; runId: string }>;
  /** Write jobs this worker is writing now. */
  writing: number;
}

/** A queue of the fleet with its job counts. */
export interface FleetQueue {
  name: string;
  /** `runs`, or the target app a write queue belongs to (`<connector>-<hash>`). */
  kind: 'runs' | 'writes';
  schemes: string[];
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface FleetStatus {
  redis: string;
  prefix: string;
  workers: FleetWorker[];
  queues: FleetQueue[];
}

/** A worker not heard from for this long is gone (its heartbeat comes every {@link HEARTBEAT_MS}). */
export const HEARTBEAT_MS = 3000;
const GONE_MS = 15_000;

interface RunJobData {
  scheme: string;
}

interface AppQueue {
  name: string;
  queue: Queue<WriteJobData, WriteJobResult>;
  events: QueueEvents;
  worker: Worker<WriteJobData, WriteJobResult>;
}

/** Where a Redis URL points, without its password (for messages). */
export function redisWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'the --redis URL';
  }
}

/**
 * The app a connection uses, as Redis keys name it: the connector and a hash of its app key (YonBIP
 * `appKey`, OKKI `clientId`, else its base URL), so that every scheme of one app shares one limit.
 */
export function appOf(endpoint: ResolvedEndpoint): string {
  const c = endpoint.connection;
  const id = String(c.appKey ?? c.clientId ?? c.baseUrl ?? c.gatewayUrl ?? c.tenantId ?? 'default');
  return `${endpoint.manifest.id}-${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
}

/**
 * One of N equal qiao workers on BullMQ (see docs/ARCHITECTURE.md "Scale-out"): each scheme's cron is a
 * BullMQ job scheduler on the `runs` queue (it fires once, whichever worker takes the job); the run
 * job's worker reads the source and keeps the state (PostgreSQL) as a single run does, but its writes
 * are jobs on the target app's write queue, taken by every worker; every request passes the app's
 * limiter in Redis.
 */
export class WorkerFleet {
  readonly where: string;
  readonly prefix: string;
  private readonly schemes = new Map<string, LoadedScheme>();
  private readonly wirings = new Map<string, WiredScheme>();
  private readonly apps = new Map<string, AppQueue>();
  private readonly remotes = new Set<RemoteTarget>();
  private readonly runs = new Map<string, AbortController>();
  /** The run of each scheme this worker is reading now (one at a time per scheme). */
  private readonly runIds = new Map<string, string>();
  private writing = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  readonly id = `${hostname()}:${process.pid}`;
  private readonly startedAt = new Date().toISOString();
  private readonly connections: Redis[] = [];
  private limiterRedis!: Redis;
  private runsQueue!: Queue<RunJobData>;
  private runsWorker: Worker<RunJobData> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private lastRedisError = 0;
  /** Connected once: from then on, connections retry for as long as Redis is away. */
  private started = false;

  constructor(private readonly o: FleetOptions) {
    this.where = redisWhere(o.redisUrl);
    this.prefix = o.prefix ?? PREFIX;
  }

  /** Loads the schemes, connects, upserts the schedulers and starts taking jobs. */
  async start(): Promise<void> {
    this.limiterRedis = this.connect({ maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: (n) => (this.started ? Math.min(n * 200, 2000) : null) });
    let first: Error | undefined;
    this.limiterRedis.once('error', (e: Error) => (first = e));
    try {
      await this.limiterRedis.connect();
      await this.limiterRedis.ping();
      this.started = true;
    } catch (e) {
      throw new InputError([{ file: 'flag --redis', pointer: '', expected: `a running Redis at ${this.where}`, found: (first ?? (e as Error)).message, hint: 'start Redis there, or point --redis (QIAO_REDIS_URL) at a running one' }], { reason: 'redis.unavailable' });
    }
    await this.loadAll();
    this.runsQueue = new Queue<RunJobData>(RUNS_QUEUE, { prefix: this.prefix, connection: this.connect({ maxRetriesPerRequest: 1 }) });
    this.runsQueue.on('error', (e) => this.redisError(e));
    for (const loaded of this.schemes.values()) this.appQueue(loaded.target);
    await this.ensureSchedulers();
    this.runsWorker = new Worker<RunJobData>(RUNS_QUEUE, (job) => this.runJob(job), {
      prefix: this.prefix,
      connection: this.connect({ maxRetriesPerRequest: null }),
      concurrency: this.o.runConcurrency ?? 2,
      lockDuration: LOCK_MS,
      stalledInterval: STALL_INTERVAL_MS,
      maxStalledCount: 2,
    });
    this.runsWorker.on('error', (e) => this.redisError(e));
    // a Redis that restarted empty lost the schedulers: put them back
    this.timer = setInterval(() => void this.ensureSchedulers().catch((e: unknown) => this.redisError(e)), 5000);
    await this.beat().catch((e: unknown) => this.redisError(e));
    this.heartbeat = setInterval(() => void this.beat().catch((e: unknown) => this.redisError(e)), HEARTBEAT_MS);
  }

  /** This worker's heartbeat: what it is and does, for the page of any worker (see {@link status}). */
  private async beat(): Promise<void> {
    // a stopping worker has left the list: a run ending during the stop must not put it back
    if (this.stopping) return;
    const me: FleetWorker = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      role: this.o.role ?? 'worker',
      startedAt: this.startedAt,
      seenAt: new Date().toISOString(),
      runs: [...this.runIds].map(([scheme, runId]) => ({ scheme, runId })),
      writing: this.writing,
    };
    await this.limiterRedis.multi().zadd(`${this.prefix}:workers`, Date.now(), this.id).set(`${this.prefix}:worker:${this.id}`, JSON.stringify(me), 'PX', GONE_MS).exec();
  }

  /** Every worker of the fleet heard from lately, and the fleet's queues with their job counts. */
  async status(): Promise<FleetStatus> {
    const r = this.limiterRedis;
    await r.zremrangebyscore(`${this.prefix}:workers`, '-inf', Date.now() - GONE_MS);
    const ids = await r.zrange(`${this.prefix}:workers`, 0, -1);
    const raw = ids.length ? await r.mget(ids.map((id) => `${this.prefix}:worker:${id}`)) : [];
    const workers = raw.flatMap((x) => (x ? [JSON.parse(x) as FleetWorker] : [])).sort((a, b) => a.id.localeCompare(b.id));
    const counts = async (q: Queue): Promise<Pick<FleetQueue, 'waiting' | 'active' | 'delayed' | 'failed'>> => {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
      return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
    };
    const queues: FleetQueue[] = [{ name: RUNS_QUEUE, kind: 'runs', schemes: [...this.schemes.keys()].sort(), ...(await counts(this.runsQueue)) }];
    for (const [name, app] of this.apps) {
      const schemes = [...this.schemes.values()].filter((l) => `writes-${appOf(l.target)}` === name).map((l) => l.scheme.id).sort();
      queues.push({ name, kind: 'writes', schemes, ...(await counts(app.queue)) });
    }
    return { redis: this.where, prefix: this.prefix, workers, queues };
  }

  /** Runs stop reading; their writes in flight (and this worker's write jobs) finish; the rest stays queued. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    // gone from the page at once, not after the heartbeat runs out
    await this.limiterRedis
      ?.multi()
      .zrem(`${this.prefix}:workers`, this.id)
      .del(`${this.prefix}:worker:${this.id}`)
      .exec()
      .catch(() => undefined);
    for (const c of this.runs.values()) c.abort();
    await this.runsWorker?.close();
    await Promise.all([...this.apps.values()].map((a) => a.worker.close()));
    await Promise.all([...this.apps.values()].flatMap((a) => [a.events.close(), a.queue.close()]));
    await this.runsQueue?.close();
    for (const c of this.connections) c.disconnect();
  }

  private connect(options: RedisOptions): Redis {
    const c = new Redis(this.o.redisUrl, options);
    c.on('error', (e) => this.redisError(e));
    this.connections.push(c);
    return c;
  }

  private redisError(e: unknown): void {
    if (this.stopping || !this.started || Date.now() - this.lastRedisError < 10_000) return;
    this.lastRedisError = Date.now();
    this.o.logger.error(`Redis at ${this.where}: ${(e as Error).message}; runs fail until it is back (start Redis there; queued records stay in the state store)`);
  }

  /** Loads every scheme file of the folder (an invalid one is reported and skipped). */
  async loadAll(): Promise<void> {
    const dir = resolve(this.o.dir);
    for (const f of readdirSync(dir).filter((x) => SCHEME_FILE.test(x))) {
      const file = join(dir, f);
      try {
        const loaded = await loadScheme(file, { resolver: connectorResolver, env: this.o.env ?? process.env });
        knownSecrets.push(...loaded.secrets);
        if (this.schemes.has(loaded.scheme.id)) throw new Error(`scheme id ${loaded.scheme.id} is used by another file of the folder`);
        this.schemes.set(loaded.scheme.id, loaded);
        const cron = loaded.scheme.schedule?.cron;
        this.o.logger.info(`${loaded.scheme.id}: loaded from ${file}${cron ? `, schedule ${cron}` : ', no schedule'}`);
      } catch (e) {
        const why = isQiaoError(e) && e instanceof InputError ? e.message : (e as Error).message;
        this.o.logger.error(`${file}: invalid, skipped: ${why}`);
      }
    }
  }

  /** Upserts the job scheduler of each scheme with a cron (one per scheme, whatever the number of workers). */
  private async ensureSchedulers(): Promise<void> {
    for (const loaded of this.schemes.values()) {
      const s = loaded.scheme.schedule;
      if (!s?.cron) continue;
      const id = `scheme-${loaded.scheme.id}`;
      const existing = await this.runsQueue.getJobScheduler(id);
      if (existing?.pattern === s.cron) continue;
      await this.runsQueue.upsertJobScheduler(id, { pattern: s.cron, ...(s.timezone ? { tz: s.timezone } : {}) }, { name: 'run', data: { scheme: loaded.scheme.id }, opts: { removeOnComplete: 100, removeOnFail: 100 } });
    }
  }

  /** The write queue of a target app (created on first use), with this worker taking its jobs. */
  private appQueue(endpoint: ResolvedEndpoint): AppQueue {
    const name = `writes-${appOf(endpoint)}`;
    const known = this.apps.get(name);
    if (known) return known;
    const queue = new Queue<WriteJobData, WriteJobResult>(name, { prefix: this.prefix, connection: this.connect({ maxRetriesPerRequest: 1, enableOfflineQueue: false }) });
    queue.on('error', (e) => this.redisError(e));
    // every write waiting for its job listens on the queue
    queue.setMaxListeners(0);
    const eventsConnection = this.connect({ maxRetriesPerRequest: null });
    const events = new QueueEvents(name, { prefix: this.prefix, connection: eventsConnection });
    events.on('error', (e) => this.redisError(e));
    events.setMaxListeners(0);
    // the answers of write jobs come through this connection: without it, a run waiting for them fails
    eventsConnection.on('close', () => {
      for (const r of this.remotes) r.lost(new Error('the connection was closed'));
    });
    const worker = new Worker<WriteJobData, WriteJobResult>(name, (job) => this.writeJob(job), {
      prefix: this.prefix,
      connection: this.connect({ maxRetriesPerRequest: null }),
      concurrency: Math.max(1, endpoint.limits.concurrency ?? 4),
      lockDuration: LOCK_MS,
      stalledInterval: STALL_INTERVAL_MS,
      maxStalledCount: 5,
    });
    worker.on('error', (e) => this.redisError(e));
    const app = { name, queue, events, worker };
    this.apps.set(name, app);
    return app;
  }

  /** The scheme wired in this process (kept: its token and connections are reused), its limiters in Redis. */
  private wiring(id: string): WiredScheme {
    const known = this.wirings.get(id);
    if (known) return known;
    const loaded = this.schemes.get(id);
    if (!loaded) throw new Error(`scheme ${id} is not in this worker's folder ${this.o.dir}: give every worker the same schemes`);
    const wired = wireScheme(loaded, {
      logger: redactingLogger(this.o.logger, loaded.secrets),
      limiterFor: (endpoint) => this.limiterFor(endpoint),
    });
    this.wirings.set(id, wired);
    return wired;
  }

  /** A connection's limiter with its permits in Redis, shared by every process using the app. */
  limiterFor(endpoint: ResolvedEndpoint): RedisLimiter {
    return new RedisLimiter(endpoint.limits, { redis: this.limiterRedis, key: `${this.prefix}:limit:${appOf(endpoint)}`, where: this.where });
  }

  private async writeJob(job: Job<WriteJobData, WriteJobResult>): Promise<WriteJobResult> {
    if (job.attemptsStarted > 1 || job.stalledCounter > 0) {
      this.o.logger.info(`${job.data.scheme}: took over write job ${job.id} of run ${job.data.runId} (${job.data.items.length} record(s)) from a worker that stopped holding it; each record is looked up before it is written again`);
    }
    const upsertKey = this.schemes.get(job.data.scheme)?.target.operation.upsert?.key;
    const guard = upsertKey ? new KeyGuard({ store: this.o.store, scheme: job.data.scheme, upsertKey }) : undefined;
    this.writing++;
    try {
      return await processWriteJob(this.wiring(job.data.scheme).target, job, guard);
    } finally {
      this.writing--;
    }
  }

  /** A run of a scheme: refused when another worker runs it (the state store's lock). */
  private async runJob(job: Job<RunJobData>): Promise<unknown> {
    const id = job.data.scheme;
    const loaded = this.schemes.get(id);
    if (!loaded) {
      this.o.logger.error(`${id}: not in this worker's folder ${this.o.dir}; give every worker the same schemes`);
      return { refused: 'unknown scheme' };
    }
    if (this.stopping) throw new Error('this worker is stopping');
    // the state store's lock tells runs of other processes apart, not two of this one
    if (this.runIds.has(id)) {
      this.o.logger.info(`${id}: tick skipped, a run of it is going on in this worker`);
      return { refused: 'running here' };
    }
    const runId = newRunId();
    this.runIds.set(id, runId);
    const logger = redactingLogger(this.o.logger, loaded.secrets);
    const controller = new AbortController();
    this.runs.set(runId, controller);
    let remote: RemoteTarget | undefined;
    // taken back from a worker that died: wait for its lock lease to run out rather than refuse
    const again = job.attemptsStarted > 1 || job.stalledCounter > 0;
    try {
      const wired = this.wiring(id);
      const app = this.appQueue(loaded.target);
      remote = new RemoteTarget({ local: wired.target, queue: app.queue, events: app.events, scheme: id, runId: () => runId, where: this.where });
      this.remotes.add(remote);
      let announced = false;
      const report = await runLoadedScheme(loaded, this.o.store, {
        wired: { ...wired, target: remote },
        logger,
        runId,
        signal: controller.signal,
        waitForLock: again,
        hintFor: diagnose,
        onProgress: () => {
          if (announced) return;
          announced = true;
          logger.info(`${id}: run ${runId} runs on ${hostname()} pid ${process.pid} (its writes are shared by every worker)`);
        },
        concurrency: Math.max(1, wired.targetEndpoint.limiter.limits.concurrency) * 4,
      });
      const c = report.counts;
      logger.info(`${id}: run ${runId} ${report.status}: read ${c.read}, inserted ${c.inserted}, updated ${c.updated}, skipped ${c.skipped}, failed ${c.failed}${report.fatal ? ` — ${report.fatal.message}${report.fatal.hint ? ` (${report.fatal.hint})` : ''}` : ''}`);
      return { runId, status: report.status, counts: c };
    } catch (e) {
      if (isQiaoError(e) && e.reason === 'scheme.locked') {
        logger.info(`${id}: tick skipped, a run of it is going on elsewhere`);
        return { refused: 'running elsewhere' };
      }
      logger.error(`${id}: run ${runId} could not run: ${(e as Error).message}`);
      return { runId, error: (e as Error).message };
    } finally {
      this.runIds.delete(id);
      this.runs.delete(runId);
      if (remote) this.remotes.delete(remote);
      // the page sees the run end now, not at the next heartbeat
      void this.beat().catch(() => undefined);
    }
  }
}
