import { Flags } from '@oclif/core';
import { InputError, redactingLogger, type ResolvedEndpoint } from '@qiao/core';
import { existsSync, statSync } from 'node:fs';
import { knownSecrets, QiaoCommand } from '../lib/base-command.js';
import { err, stderrLogger } from '../lib/output.js';
import { SchemeService } from '../serve/scheme-service.js';
import { isLoopback, startServer } from '../serve/server.js';
import { openState, stateFlags, stateLocation } from '../lib/state.js';
import { redisWhere, WorkerFleet } from '../workers/fleet.js';
import { checkWorkerFlags, prefixFlag, redisFlag, rememberRedisPassword, runsFlag } from './worker.js';

export default class Serve extends QiaoCommand {
  static override summary = 'Run every scheme of a folder on its schedule, with a live run-overview page and alerts.';
  static override description = `Each scheme runs on its schedule.cron (croner); never two runs of one scheme at once, and missed ticks are not piled up. A file that becomes invalid is reported and skipped; the others go on. The page (运行概况) is a table of every scheme (status, last and next run, success rate, queue, dead letters, cursor, throttling; sortable, filterable by status), a page per scheme (run timeline, records chart, fatal errors, dead letters per customer with re-queue) and a page per run; /api/overview serves the same data as \`qiao overview --json\`.
The server binds to 127.0.0.1 by default; binding another address requires --token (or QIAO_SERVE_TOKEN). Ctrl-C (SIGINT) or SIGTERM stops it gracefully: runs stop reading, writes in flight finish, the rest stays queued.`;
  static override examples = [
    '<%= config.bin %> serve --schemes ./schemes',
    '<%= config.bin %> serve --schemes ./schemes --port 8080 --host 0.0.0.0 --token "$QIAO_SERVE_TOKEN"',
  ];
  static override flags = {
    schemes: Flags.string({ description: 'folder of scheme files (.yaml, .yml, .json)', default: 'schemes' }),
    port: Flags.integer({ description: 'port of the page (0: any free port)', default: 7420, min: 0, max: 65535 }),
    host: Flags.string({ description: 'address to bind', default: '127.0.0.1' }),
    token: Flags.string({ description: 'token required by the page and API (default: $QIAO_SERVE_TOKEN)', env: 'QIAO_SERVE_TOKEN' }),
    ...stateFlags(),
    redis: redisFlag(),
    prefix: prefixFlag(),
    runs: runsFlag(),
    'page-url': Flags.string({ description: 'public URL of the page, for links in alerts (default: the bound address)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    if (!existsSync(flags.schemes) || !statSync(flags.schemes).isDirectory()) {
      throw new InputError([{ file: 'flag --schemes', pointer: '', expected: 'a folder of scheme files', found: existsSync(flags.schemes) ? 'a file' : `no folder ${flags.schemes}`, hint: 'create it and put scheme files in it (qiao init schemes/okki.scheme.yaml --template okki-to-yonbip)' }]);
    }
    if (!isLoopback(flags.host) && !flags.token) {
      throw new InputError([{ file: 'flag --host', pointer: '', expected: 'a loopback address (127.0.0.1, ::1, localhost), or --token', found: flags.host, hint: 'binding beyond this machine exposes the run overview and its actions: pass --token (or set QIAO_SERVE_TOKEN)' }]);
    }
    if (flags.token && flags.token.length < 12) {
      throw new InputError([{ file: 'flag --token', pointer: '', expected: 'a token of at least 12 characters', found: `${flags.token.length} characters`, hint: 'use a long random value, e.g. openssl rand -hex 16' }]);
    }
    if (flags.token) knownSecrets.push(flags.token);
    const logger = redactingLogger(stderrLogger(flags.debug), knownSecrets);
    if (flags.redis) {
      checkWorkerFlags(flags);
      rememberRedisPassword(flags.redis);
    }
    const store = await openState(flags);
    // one of N workers: the workers' job schedulers fire the runs, this process serves the page too
    const fleet = flags.redis ? new WorkerFleet({ redisUrl: flags.redis, dir: flags.schemes, store, logger, prefix: flags.prefix, runConcurrency: flags.runs, role: 'serve' }) : undefined;
    const service = new SchemeService({ dir: flags.schemes, store, logger, schedule: !fleet, ...(fleet ? { limiterFor: (e: ResolvedEndpoint) => fleet.limiterFor(e) } : {}), ...(flags['page-url'] ? { pageUrl: flags['page-url'] } : {}) });
    try {
      await fleet?.start();
    } catch (e) {
      await fleet?.stop().catch(() => undefined);
      await store.close();
      throw e;
    }
    const server = await startServer({ service, store, logger, host: flags.host, port: flags.port, token: flags.token, fleet });
    service.pageUrl ??= server.url;
    await service.start();
    err(`qiao serve: run overview at ${server.url}/${flags.token ? '#token=…' : ''} · schemes from ${flags.schemes} · state ${stateLocation(flags)}${flags.redis ? ` · one of the workers on Redis ${redisWhere(flags.redis)}` : ''}`);
    err('Ctrl-C stops it: runs stop reading, writes in flight finish, the rest stays queued.');

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    err('stopping: waiting for writes in flight…');
    await service.stop();
    await fleet?.stop();
    await server.close();
    await store.close();
    err('stopped; nothing was lost (queued writes resume on the next run)');
  }
}
