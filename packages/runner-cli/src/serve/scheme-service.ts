import { EventEmitter } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Cron } from 'croner';
import {
  formatProblem,
  isQiaoError,
  loadScheme,
  redactingLogger,
  runLoadedScheme,
  wireScheme,
  type LimiterStats,
  InputError,
  type LoadedScheme,
  type Logger,
  type Progress,
  type RunReport,
  type AnyStateStore,
  type WireOptions,
} from '@qiao/core';
import { knownSecrets } from '../lib/base-command.js';
import { diagnose } from '../lib/diagnose.js';
import { schemeOverview, type SchemeOverview } from '../lib/overview.js';
import { connectorResolverFor } from '../lib/resolver.js';
import { alertText, sendAlerts } from './alerts.js';

const SCHEME_FILE = /\.(ya?ml|json)$/i;

export interface SchemeEntry {
  file: string;
  mtimeMs: number;
  loaded?: LoadedScheme;
  /** Why the file cannot run (it is reported and skipped; the others go on). */
  error?: string;
  cron?: Cron;
  running?: { runId?: string; startedAt: string; progress?: Progress; controller: AbortController; done: Promise<RunReport | undefined> };
  /** Dead letters when the last dead-letter alert was sent. */
  alertedDead: number;
  /** How the systems held the running (or last) run back, read from its limiters. */
  throttle?: { limiters: { source: LimiterStats; target: LimiterStats }; at: string };
}

/** How one system held a run back: its adaptive limiter's figures (see `LimiterStats`). */
export interface ThrottleSide {
  /** Answers that refused a request for the rate limit (HTTP 429, YonBIP 310039…). */
  rateLimitedAnswers: number;
  /** Wall time the limiter held requests back for the rate limit, in milliseconds. */
  throttledMs: number;
  /** Starts per second it allows now (the configured rate, or the one it learned). */
  ratePerSecond?: number | undefined;
}

export interface Throttling {
  source: ThrottleSide;
  target: ThrottleSide;
  /** Whether the figures are of the run going on now (else of the last run this server made). */
  live: boolean;
  /** When they were read. */
  at: string;
}

export interface SchemeStatus extends Partial<SchemeOverview> {
  id: string;
  file: string;
  name?: string | undefined;
  valid: boolean;
  error?: string | undefined;
  schedule?: string | undefined;
  nextRunAt?: string | null | undefined;
  running: boolean;
  progress?: Progress | undefined;
  /** The connectors the scheme reads from and writes to. */
  systems?: { source: string; target: string } | undefined;
  /** Rate-limit refusals and waits of the running or last run this server made; null when it made none. */
  throttling: Throttling | null;
}

export interface SchemeServiceOptions {
  dir: string;
  store: AnyStateStore;
  logger: Logger;
  /** Base URL of the page, for links in alerts. */
  pageUrl?: string;
  env?: Record<string, string | undefined>;
  /** Runs each scheme on its cron. `false` under `--redis`: the workers' job schedulers fire the runs. @default true */
  schedule?: boolean;
  /** The connections' limiters when they are shared (`--redis`); absent: this process's own. */
  limiterFor?: WireOptions['limiterFor'];
}

/**
 * The schemes of a folder, each on its own cron (croner): never two runs of one scheme at once, missed
 * ticks not piled up, a file that becomes invalid reported and skipped while the others go on. Emits
 * `progress`, `run` and `schemes` events for the page.
 */
export class SchemeService extends EventEmitter {
  readonly entries = new Map<string, SchemeEntry>();
  /** Base URL of the page, for links in alerts. */
  pageUrl: string | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly o: SchemeServiceOptions) {
    super();
    this.setMaxListeners(0);
    this.pageUrl = o.pageUrl;
  }

  async start(): Promise<void> {
    await this.rescan();
    this.rescanTimer = setInterval(() => void this.rescan().catch((e: unknown) => this.o.logger.error(`rescan failed: ${(e as Error).message}`)), 2000);
  }

  /** Reads the folder again: new files are scheduled, changed ones re-validated, removed ones dropped. */
  async rescan(): Promise<void> {
    if (this.stopping) return;
    const dir = resolve(this.o.dir);
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => SCHEME_FILE.test(f)).map((f) => join(dir, f));
    } catch (e) {
      this.o.logger.error(`cannot read the schemes folder ${dir}: ${(e as Error).message}`);
      return;
    }
    let changed = false;
    for (const [file, entry] of this.entries) {
      if (!files.includes(file)) {
        entry.cron?.stop();
        this.entries.delete(file);
        changed = true;
      }
    }
    for (const file of files) {
      let mtimeMs = 0;
      try {
        mtimeMs = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      const entry = this.entries.get(file);
      if (entry && entry.mtimeMs === mtimeMs) continue;
      await this.load(file, mtimeMs, entry);
      changed = true;
    }
    if (changed) this.emit('schemes');
  }

  private async load(file: string, mtimeMs: number, previous?: SchemeEntry): Promise<void> {
    previous?.cron?.stop();
    const entry: SchemeEntry = { file, mtimeMs, alertedDead: previous?.alertedDead ?? 0, ...(previous?.running ? { running: previous.running } : {}) };
    this.entries.set(file, entry);
    try {
      const loaded = await loadScheme(file, { resolver: connectorResolverFor(file), env: this.o.env ?? process.env });
      knownSecrets.push(...loaded.secrets, ...(loaded.scheme.alerts?.webhooks ?? []).map((w) => w.url));
      const clash = [...this.entries.values()].find((e) => e !== entry && e.loaded?.scheme.id === loaded.scheme.id);
      if (clash) throw new InputError([{ file, pointer: '/id', expected: 'an id no other scheme in the folder uses', found: `${loaded.scheme.id}, also used by ${clash.file}`, hint: 'give each scheme its own id' }]);
      entry.loaded = loaded;
      const cron = loaded.scheme.schedule?.cron;
      if (cron && this.o.schedule !== false) {
        entry.cron = new Cron(
          cron,
          { protect: true, ...(loaded.scheme.schedule?.timezone ? { timezone: loaded.scheme.schedule.timezone } : {}) },
          () => {
            if (entry.running) {
              this.o.logger.info(`${loaded.scheme.id}: tick skipped, the previous run is still going`);
              return;
            }
            void this.run(file, 'schedule');
          },
        );
      } else if (cron) {
        // under --redis the workers' job scheduler fires it: this cron only tells the page the next run
        entry.cron = new Cron(cron, { paused: true, ...(loaded.scheme.schedule?.timezone ? { timezone: loaded.scheme.schedule.timezone } : {}) });
      }
      this.o.logger.info(`${loaded.scheme.id}: loaded from ${file}${cron ? `, schedule ${cron}` : ', no schedule (run it from the page)'}`);
    } catch (e) {
      entry.error = isQiaoError(e) && e instanceof InputError ? e.problems.map(formatProblem).join('\n') : (e as Error).message;
      this.o.logger.error(`${file}: invalid, skipped until it is fixed:\n${entry.error}`);
    }
  }

  find(id: string): SchemeEntry | undefined {
    return [...this.entries.values()].find((e) => e.loaded?.scheme.id === id);
  }

  /** Starts a run now (or a drain of the queue only); undefined when it is already running or invalid. */
  run(file: string, why: 'schedule' | 'manual' | 'requeue', options: { drainOnly?: boolean } = {}): Promise<RunReport | undefined> | undefined {
    const entry = this.entries.get(file);
    if (!entry?.loaded || entry.running || this.stopping) return undefined;
    const loaded = entry.loaded;
    const id = loaded.scheme.id;
    const controller = new AbortController();
    const startedAt = new Date().toISOString();
    const logger = redactingLogger(this.o.logger, loaded.secrets);
    const done = (async (): Promise<RunReport | undefined> => {
      let wired: ReturnType<typeof wireScheme> | undefined;
      const readThrottle = () => {
        if (wired) entry.throttle = { limiters: { source: wired.sourceEndpoint.limiter.stats, target: wired.targetEndpoint.limiter.stats }, at: new Date().toISOString() };
      };
      try {
        logger.info(`${id}: run started (${why})`);
        this.emit('run', { scheme: id, state: 'started', startedAt });
        // wired here so the page can read the limiters (429s, learned rate, time held back) during the run
        wired = wireScheme(loaded, { logger, ...(this.o.limiterFor ? { limiterFor: this.o.limiterFor } : {}) });
        const report = await runLoadedScheme(loaded, this.o.store, {
          wired,
          logger,
          signal: controller.signal,
          waitForLock: false,
          drainOnly: options.drainOnly ?? false,
          hintFor: diagnose,
          onProgress: (p) => {
            if (entry.running) entry.running.progress = p;
            readThrottle();
            this.emit('progress', { scheme: id, progress: p, throttling: throttling(entry) });
          },
        });
        logger.info(`${id}: run ${report.status}: read ${report.counts.read}, inserted ${report.counts.inserted}, updated ${report.counts.updated}, skipped ${report.counts.skipped}, failed ${report.counts.failed}`);
        await this.alert(entry, report);
        return report;
      } catch (e) {
        if (controller.signal.aborted) logger.info(`${id}: run stopped: ${(e as Error).message}`);
        else logger.error(`${id}: run could not start: ${(e as Error).message}`);
        return undefined;
      } finally {
        readThrottle();
        entry.running = undefined;
        this.emit('run', { scheme: id, state: 'finished' });
      }
    })();
    entry.running = { startedAt, controller, done };
    return done;
  }

  private async alert(entry: SchemeEntry, report: RunReport): Promise<void> {
    const loaded = entry.loaded!;
    const alerts = loaded.scheme.alerts;
    if (!alerts?.webhooks?.length) return;
    const dead = await this.o.store.deadGroups(loaded.scheme.id);
    const deadTotal = dead.reduce((n, g) => n + g.count, 0);
    const threshold = alerts.deadLetterThreshold;
    let reason: 'failed' | 'partial' | 'dead-letters' | undefined;
    if (report.status === 'failed') reason = 'failed';
    else if (report.status === 'partial') reason = 'partial';
    else if (threshold !== undefined && deadTotal >= threshold && deadTotal > entry.alertedDead) reason = 'dead-letters';
    if (!reason) return;
    entry.alertedDead = deadTotal;
    const base = alerts.pageUrl ?? this.pageUrl;
    const text = alertText({ scheme: loaded.scheme.id, name: loaded.scheme.name, report, dead, deadTotal, reason, link: base ? `${base.replace(/\/$/, '')}/#${encodeURIComponent(loaded.scheme.id)}` : undefined });
    const sent = await sendAlerts(alerts.webhooks, text, redactingLogger(this.o.logger, loaded.secrets));
    this.o.logger.info(`${loaded.scheme.id}: alert (${reason}) sent to ${sent} of ${alerts.webhooks.length} webhook(s)`);
  }

  async status(): Promise<SchemeStatus[]> {
    const all = await Promise.all(
      [...this.entries.values()].map(async (e): Promise<SchemeStatus> => {
        const loaded = e.loaded;
        const base = {
          file: e.file,
          valid: Boolean(loaded),
          running: Boolean(e.running),
          progress: e.running?.progress,
          throttling: throttling(e),
        };
        if (!loaded) return { id: e.file.split('/').pop()!, ...base, error: e.error };
        const overview = await schemeOverview(this.o.store, loaded.scheme.id, loaded.source.stream.id);
        return {
          ...overview,
          id: loaded.scheme.id,
          name: loaded.scheme.name,
          ...base,
          systems: { source: loaded.source.manifest.name, target: loaded.target.manifest.name },
          schedule: loaded.scheme.schedule?.cron,
          nextRunAt: e.cron?.nextRun()?.toISOString() ?? null,
        };
      }),
    );
    return all.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Stops scheduling; running runs stop reading, finish the writes in flight, and keep the rest queued. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    const runs: Promise<unknown>[] = [];
    for (const e of this.entries.values()) {
      e.cron?.stop();
      if (e.running) {
        e.running.controller.abort();
        runs.push(e.running.done);
      }
    }
    await Promise.allSettled(runs);
  }
}

const side = (s: LimiterStats): ThrottleSide => ({ rateLimitedAnswers: s.rateLimitedAnswers ?? 0, throttledMs: s.throttledMs ?? 0, ratePerSecond: s.ratePerSecond });

function throttling(e: SchemeEntry): Throttling | null {
  if (!e.throttle) return null;
  return { source: side(e.throttle.limiters.source), target: side(e.throttle.limiters.target), live: Boolean(e.running), at: e.throttle.at };
}
