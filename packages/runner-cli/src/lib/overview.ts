import { isDeletionLog, type Deletion, type DeletionStatus, type QueueStatus, type RunReport, type StateAdmin } from '@qiao/core';
import { diagnoseFor } from './diagnose.js';

export interface SchemeOverview {
  scheme: string;
  status: RunReport['status'] | 'never-run';
  lastRun: RunReport | null;
  runs: Pick<RunReport, 'runId' | 'status' | 'startedAt' | 'durationMs' | 'counts'>[];
  /** Share of the recent runs that succeeded, 0..1; cancelled runs are not counted. */
  successRate: number | null;
  /** Share of records finished without failure over the recent runs, 0..1. */
  recordSuccessRate: number | null;
  queue: Record<QueueStatus, number>;
  deadLetters: { code: string; message: string; count: number; diagnosis?: string | undefined }[];
  /** Skips and fatal errors of recent runs, with a diagnosis. */
  recentProblems: { code: string; message: string; count: number; diagnosis?: string | undefined }[];
  cursor: string | null;
  /** Records deleted in the source that the state logs (`target.onDelete`), newest first. */
  deletions: {
    /** How many are logged, per status. */
    counts: Partial<Record<DeletionStatus, number>>;
    /** Keys first seen deleted by the latest run. */
    sinceLastRun: number;
    /** The newest (at most 100); `new` marks those the latest run saw first. */
    records: (Omit<Deletion, 'source'> & { new: boolean })[];
  };
}

/** The run overview (运行概况) of a scheme, from its state. */
export async function schemeOverview(store: StateAdmin, scheme: string, stream?: string, limit = 20): Promise<SchemeOverview> {
  const runs = await store.runs(scheme, limit);
  const diagnose = diagnoseFor(scheme);
  const last = runs[0] ?? null;
  const finished = runs.filter((r) => r.status !== 'running');
  // a cancelled run (Ctrl-C, serve stopping) is neither a success nor a failure
  const decided = finished.filter((r) => r.status !== 'cancelled');
  const ok = decided.filter((r) => r.status === 'succeeded').length;
  let good = 0;
  let all = 0;
  for (const r of finished) {
    good += r.counts.inserted + r.counts.updated + r.counts.skipped;
    all += r.counts.inserted + r.counts.updated + r.counts.skipped + r.counts.failed;
  }
  const problems = new Map<string, { code: string; message: string; count: number; diagnosis?: string | undefined }>();
  for (const r of runs.slice(0, 5)) {
    for (const g of [...(r.skips ?? []), ...(r.fatal ? [{ code: r.fatal.code, message: r.fatal.message, count: 1 }] : [])]) {
      const p = problems.get(g.code) ?? { code: g.code, message: g.message, count: 0, diagnosis: diagnose(g.code, g.message) };
      p.count += g.count;
      problems.set(g.code, p);
    }
  }
  return {
    scheme,
    status: last?.status ?? 'never-run',
    lastRun: last,
    runs: runs.map((r) => ({ runId: r.runId, status: r.status, startedAt: r.startedAt, durationMs: r.durationMs, counts: r.counts })),
    successRate: decided.length ? ok / decided.length : null,
    recordSuccessRate: all ? good / all : null,
    queue: await store.counts(scheme),
    deadLetters: (await store.deadGroups(scheme)).map((g) => ({ ...g, diagnosis: diagnose(g.code, g.message) })),
    recentProblems: [...problems.values()],
    cursor: (stream ? await store.getCursor(scheme, stream) : last?.cursor) ?? last?.cursor ?? null,
    deletions: await deletionsOverview(store, last),
  };
}

async function deletionsOverview(store: StateAdmin, last: RunReport | null): Promise<SchemeOverview['deletions']> {
  if (!isDeletionLog(store) || !last) return { counts: {}, sinceLastRun: 0, records: [] };
  const records = (await store.listDeletions(last.scheme, { limit: 100 })).map(({ source: _source, ...d }) => ({ ...d, new: d.runId === last.runId }));
  return { counts: await store.deletionCounts(last.scheme), sinceLastRun: records.filter((d) => d.new).length, records };
}
