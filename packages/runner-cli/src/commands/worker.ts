import { Flags } from '@oclif/core';
import { InputError, redactingLogger } from '@qiao/core';
import { existsSync, statSync } from 'node:fs';
import { knownSecrets, QiaoCommand } from '../lib/base-command.js';
import { err, stderrLogger } from '../lib/output.js';
import { openState, stateFlags, stateLocation } from '../lib/state.js';
import { redisWhere, WorkerFleet } from '../workers/fleet.js';

/** The `--redis URL` flag of `qiao worker` and `qiao serve`. */
export const redisFlag = () =>
  Flags.string({ description: 'Redis URL of the shared queues and rate limits, redis://[:PASSWORD@]HOST:6379 (default: $QIAO_REDIS_URL); makes this process one of N equal workers', env: 'QIAO_REDIS_URL' });

/** `--prefix`: the Redis keys of one fleet. */
export const prefixFlag = () =>
  Flags.string({ description: 'what every Redis key of this fleet starts with; fleets with their own schemes sharing one Redis each take their own (default: $QIAO_REDIS_PREFIX, else qiao)', env: 'QIAO_REDIS_PREFIX', default: 'qiao' });

/** `--runs`: how many scheme runs one worker reads at once. */
export const runsFlag = () =>
  Flags.integer({ description: 'scheme runs this worker takes at once (each reads its source and keeps its state; the writes are shared by every worker) (default: $QIAO_WORKER_RUNS, else 2)', env: 'QIAO_WORKER_RUNS', default: 2, min: 1 });

/** The URL's password is a secret: every line the CLI prints is redacted of it. */
export function rememberRedisPassword(url: string): void {
  try {
    const p = new URL(url).password;
    for (const x of [p, decodeURIComponent(p)]) if (x && !knownSecrets.includes(x)) knownSecrets.push(x);
  } catch {
    // not a URL: the connection says so
  }
}

/** Checks the flags of a worker: Redis, a shared state in PostgreSQL, the schemes folder. */
export function checkWorkerFlags(flags: { schemes: string; database?: string | undefined; state?: string | undefined }): void {
  if (!existsSync(flags.schemes) || !statSync(flags.schemes).isDirectory()) {
    throw new InputError([{ file: 'flag --schemes', pointer: '', expected: 'a folder of scheme files', found: existsSync(flags.schemes) ? 'a file' : `no folder ${flags.schemes}`, hint: 'give every worker the same folder of scheme files' }]);
  }
  if (!(flags.database ?? process.env.QIAO_DATABASE_URL) || flags.state) {
    throw new InputError([{ file: 'flag --database', pointer: '', expected: 'the PostgreSQL URL of the state every worker shares (--database or QIAO_DATABASE_URL)', found: flags.state ? `--state ${flags.state} (a SQLite state of this machine only)` : 'none', hint: 'pass --database postgres://USER:PASSWORD@HOST:5432/DATABASE?schema=qiao, the same for every worker' }]);
  }
}

export default class WorkerCommand extends QiaoCommand {
  static override summary = 'Run as one of N equal workers: schemes on their schedule, writes shared, one rate limit per app (BullMQ on Redis, state in PostgreSQL).';
  static override description = `Start as many as you like, on as many machines, with the same --schemes, --redis and --database. Each scheme's cron fires once across all of them (a BullMQ job scheduler); the worker that takes the run reads the source and keeps the state, and its writes are jobs on the target app's queue, taken by every worker. Every request passes the app's rate limit in Redis, shared by all. A worker killed mid-write has its jobs taken over by the others after about ${8} s; they look each record up before writing it again.
SIGTERM or Ctrl-C stops it gracefully: runs stop reading, writes in flight finish, the rest stays queued for the others. See docs/scale-out.md.`;
  static override examples = ['QIAO_REDIS_URL=redis://redis:6379 QIAO_DATABASE_URL=postgres://qiao@pg:5432/qiao <%= config.bin %> worker --schemes ./schemes'];
  static override flags = {
    schemes: Flags.string({ description: 'folder of scheme files (.yaml, .yml, .json), the same for every worker', default: 'schemes' }),
    redis: redisFlag(),
    prefix: prefixFlag(),
    runs: runsFlag(),
    ...stateFlags(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(WorkerCommand);
    if (!flags.redis) {
      throw new InputError([{ file: 'flag --redis', pointer: '', expected: 'the Redis URL the workers share (--redis or QIAO_REDIS_URL)', found: 'none', hint: 'pass --redis redis://HOST:6379; for one process without Redis, use qiao serve or qiao run' }]);
    }
    checkWorkerFlags(flags);
    rememberRedisPassword(flags.redis);
    const logger = redactingLogger(stderrLogger(flags.debug), knownSecrets);
    const store = await openState(flags);
    const fleet = new WorkerFleet({ redisUrl: flags.redis, dir: flags.schemes, store, logger, prefix: flags.prefix, runConcurrency: flags.runs });
    try {
      await fleet.start();
    } catch (e) {
      await fleet.stop().catch(() => undefined);
      await store.close();
      throw e;
    }
    err(`qiao worker ${process.pid}: schemes from ${flags.schemes} · queues in Redis ${redisWhere(flags.redis)} · state ${stateLocation(flags)}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    err('stopping: runs stop reading, writes in flight finish…');
    await fleet.stop();
    await store.close();
    err('stopped; what was not written stays queued for the other workers');
  }
}
