import type {
  Completion,
  Deletion,
  DeletionLog,
  DeletionStatus,
  DeletionUpdate,
  Delivered,
  EnqueueItem,
  ErrorGroup,
  Failure,
  HolderQuery,
  QueueItem,
  QueueStatus,
  RunLock,
  ListOptions,
  LockHolder,
  RunReport,
  StateAdmin,
  StateStore,
} from '../contracts/state-store.js';
import { lockHeldError } from './lock-error.js';

interface SchemeState {
  cursors: Map<string, string>;
  delivered: Map<string, Delivered>;
  queue: Map<string, QueueItem>; // by key
  byId: Map<number, QueueItem>;
  /** Ids of pending items, oldest first (a Set keeps insertion order). */
  pending: Set<number>;
  /** Done items are forgotten (only their delivery is kept); this counts them. */
  done: number;
  runs: RunReport[];
  lock: LockHolder | undefined;
}

/**
 * A {@link StateStore} (and {@link StateAdmin}) in memory, with the same semantics as the SQLite store:
 * done items are forgotten once delivered (their delivery — fingerprint and target id — is kept, and
 * they are counted). For tests and for measuring the engine without storage; nothing survives the
 * process, and its lock refuses a second run even in the same process.
 */
export class MemoryStateStore implements StateStore, StateAdmin, DeletionLog {
  private readonly states = new Map<string, SchemeState>();
  private nextId = 1;
  /** Deletions by scheme, then key (see {@link DeletionLog}). */
  private readonly deletionLog = new Map<string, Map<string, Deletion>>();

  private s(scheme: string): SchemeState {
    let st = this.states.get(scheme);
    if (!st) {
      st = { cursors: new Map(), delivered: new Map(), queue: new Map(), byId: new Map(), pending: new Set(), done: 0, runs: [], lock: undefined };
      this.states.set(scheme, st);
    }
    return st;
  }

  async lock(scheme: string): Promise<RunLock> {
    const st = this.s(scheme);
    if (st.lock) throw lockHeldError(scheme, 'memory', st.lock);
    const at = new Date().toISOString();
    // the lock lives and dies with this object: no lease to run out
    const holder: LockHolder = { scheme, pid: process.pid, host: 'memory', acquiredAt: at, renewedAt: at, leaseMs: Infinity, expiresAt: '', stale: false };
    st.lock = holder;
    return {
      release: async () => {
        if (st.lock === holder) st.lock = undefined;
      },
    };
  }

  async lockHolder(scheme: string): Promise<LockHolder | undefined> {
    const l = this.s(scheme).lock;
    return l ? { ...l } : undefined;
  }

  async unlock(scheme: string, holder: Pick<LockHolder, 'pid' | 'host' | 'acquiredAt'>): Promise<boolean> {
    const st = this.s(scheme);
    if (!st.lock || st.lock.pid !== holder.pid || st.lock.host !== holder.host || st.lock.acquiredAt !== holder.acquiredAt) return false;
    st.lock = undefined;
    return true;
  }

  async checkIntact(): Promise<void> {}

  async getCursor(scheme: string, stream: string): Promise<string | undefined> {
    return this.s(scheme).cursors.get(stream);
  }

  async setCursor(scheme: string, stream: string, value: string): Promise<void> {
    this.s(scheme).cursors.set(stream, value);
  }

  async delivered(scheme: string, keys: string[]): Promise<Map<string, Delivered>> {
    const st = this.s(scheme);
    const out = new Map<string, Delivered>();
    for (const k of keys) {
      const d = st.delivered.get(k);
      if (d) out.set(k, d);
    }
    return out;
  }

  async holders(scheme: string, query: HolderQuery): Promise<Delivered[]> {
    const codes = new Set(query.codes ?? []);
    const ids = new Set(query.targetIds ?? []);
    return [...this.s(scheme).delivered.values()].filter(
      (d) => (d.businessKey != null && codes.has(d.businessKey)) || (d.targetCode != null && codes.has(d.targetCode)) || (d.targetId != null && ids.has(d.targetId)),
    );
  }

  async enqueue(scheme: string, runId: string, items: EnqueueItem[]): Promise<void> {
    const st = this.s(scheme);
    const now = new Date().toISOString();
    for (const it of items) {
      const existing = st.queue.get(it.key);
      const status: QueueStatus = existing?.status === 'in-flight' ? 'in-flight' : it.dead ? 'dead' : 'pending';
      const item: QueueItem = {
        id: existing?.id ?? this.nextId++,
        key: it.key,
        payload: it.payload,
        source: it.source ?? null,
        fingerprint: it.fingerprint,
        cursor: it.cursor ?? null,
        status,
        attempts: existing?.status === 'in-flight' ? existing.attempts : 0,
        maybeWritten: existing?.maybeWritten ?? false,
        lastErrorCode: it.dead?.code ?? null,
        lastErrorMessage: it.dead?.message ?? null,
        runId,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      st.queue.set(it.key, item);
      st.byId.set(item.id, item);
      this.setStatus(st, item, status);
    }
  }

  private setStatus(st: SchemeState, item: QueueItem, status: QueueStatus): void {
    item.status = status;
    if (status === 'pending') {
      st.pending.delete(item.id);
      st.pending.add(item.id);
    } else st.pending.delete(item.id);
  }

  async claim(scheme: string, limit: number): Promise<QueueItem[]> {
    const st = this.s(scheme);
    const out: QueueItem[] = [];
    for (const id of st.pending) {
      if (out.length >= limit) break;
      const item = st.byId.get(id)!;
      this.setStatus(st, item, 'in-flight');
      item.attempts++;
      const d = st.delivered.get(item.key);
      out.push({ ...item, knownId: d?.targetId ?? null, knownCode: d?.targetCode ?? null, knownFields: d?.fields ?? null });
    }
    return out;
  }

  async complete(scheme: string, completions: Completion[]): Promise<void> {
    const st = this.s(scheme);
    for (const c of completions) {
      const item = st.byId.get(c.id);
      if (item) {
        const done = item.fingerprint === c.fingerprint;
        this.setStatus(st, item, done ? 'done' : 'pending');
        if (done) {
          // Memory holds only what is still to be written; a done item lives on as its delivery.
          st.byId.delete(item.id);
          st.queue.delete(item.key);
          st.done++;
        }
        item.maybeWritten = false;
        item.lastErrorCode = null;
        item.lastErrorMessage = null;
      }
      const prev = st.delivered.get(c.key);
      st.delivered.set(c.key, {
        key: c.key,
        fingerprint: c.fingerprint,
        targetId: c.targetId ?? prev?.targetId ?? null,
        targetCode: c.targetCode ?? prev?.targetCode ?? null,
        businessKey: c.businessKey ?? prev?.businessKey ?? null,
        fields: c.fields ?? prev?.fields ?? null,
      });
    }
  }

  async fail(scheme: string, failures: Failure[]): Promise<void> {
    const st = this.s(scheme);
    for (const f of failures) {
      const item = st.byId.get(f.id);
      if (!item) continue;
      this.setStatus(st, item, f.dead ? 'dead' : 'pending');
      item.lastErrorCode = f.code;
      item.lastErrorMessage = f.message;
      if (f.maybeWritten) item.maybeWritten = true;
    }
  }

  async recoverInFlight(scheme: string): Promise<number> {
    let n = 0;
    const st = this.s(scheme);
    for (const item of st.byId.values()) {
      if (item.status === 'in-flight') {
        this.setStatus(st, item, 'pending');
        item.maybeWritten = true;
        n++;
      }
    }
    return n;
  }

  async counts(scheme: string): Promise<Record<QueueStatus, number>> {
    const st = this.s(scheme);
    const out: Record<QueueStatus, number> = { pending: 0, 'in-flight': 0, done: st.done, dead: 0 };
    for (const item of st.byId.values()) out[item.status]++;
    return out;
  }

  async list(scheme: string, options: ListOptions = {}): Promise<QueueItem[]> {
    const all = [...this.s(scheme).byId.values()].filter((i) => !options.status || i.status === options.status);
    const offset = options.offset ?? 0;
    return all.slice(offset, offset + (options.limit ?? 100)).map((i) => ({ ...i }));
  }

  async requeueDead(scheme: string, ids?: number[]): Promise<number> {
    let n = 0;
    const st = this.s(scheme);
    for (const item of st.byId.values()) {
      if (item.status === 'dead' && (!ids || ids.includes(item.id))) {
        this.setStatus(st, item, 'pending');
        item.attempts = 0;
        n++;
      }
    }
    return n;
  }

  async deadGroups(scheme: string): Promise<ErrorGroup[]> {
    const groups = new Map<string, ErrorGroup>();
    for (const item of this.s(scheme).byId.values()) {
      if (item.status !== 'dead') continue;
      const code = item.lastErrorCode ?? 'unknown';
      const g = groups.get(code) ?? { code, message: item.lastErrorMessage ?? '', count: 0 };
      g.count++;
      groups.set(code, g);
    }
    return [...groups.values()].sort((a, b) => b.count - a.count);
  }

  async startRun(scheme: string, report: RunReport): Promise<void> {
    this.s(scheme).runs.push(structuredClone(report));
  }

  async finishRun(scheme: string, report: RunReport): Promise<void> {
    const runs = this.s(scheme).runs;
    const i = runs.findIndex((r) => r.runId === report.runId);
    if (i >= 0) runs[i] = structuredClone(report);
  }

  async runs(scheme: string, limit = 20): Promise<RunReport[]> {
    return [...this.s(scheme).runs].reverse().slice(0, limit);
  }

  async schemes(): Promise<string[]> {
    return [...this.states.keys()].sort();
  }

  private deletionsFor(scheme: string): Map<string, Deletion> {
    let log = this.deletionLog.get(scheme);
    if (!log) this.deletionLog.set(scheme, (log = new Map()));
    return log;
  }

  async deletionsOf(scheme: string, keys: string[]): Promise<Map<string, Deletion>> {
    const log = this.deletionsFor(scheme);
    const out = new Map<string, Deletion>();
    for (const key of keys) {
      const d = log.get(key);
      if (d) out.set(key, { ...d });
    }
    return out;
  }

  async saveDeletions(scheme: string, runId: string, rows: DeletionUpdate[]): Promise<void> {
    const log = this.deletionsFor(scheme);
    const now = new Date().toISOString();
    for (const r of rows) {
      const old = log.get(r.key);
      const keep = <T>(v: T | undefined, was: T | null | undefined): T | null => (v !== undefined ? v : (was ?? null));
      log.set(r.key, {
        key: r.key,
        status: r.status,
        name: keep(r.name, old?.name),
        deletedAt: keep(r.deletedAt, old?.deletedAt),
        targetId: keep(r.targetId, old?.targetId),
        message: keep(r.message, old?.message),
        source: keep(r.source, old?.source),
        runId: old?.runId ?? runId,
        seenAt: old?.seenAt ?? now,
        updatedAt: now,
      });
    }
  }

  async dropDeletions(scheme: string, keys: string[]): Promise<void> {
    const log = this.deletionsFor(scheme);
    for (const key of keys) log.delete(key);
  }

  async listDeletions(scheme: string, options: { status?: DeletionStatus[]; limit?: number } = {}): Promise<Deletion[]> {
    const all = [...this.deletionsFor(scheme).values()].filter((d) => !options.status?.length || options.status.includes(d.status));
    return all.reverse().sort((a, b) => (a.seenAt < b.seenAt ? 1 : a.seenAt > b.seenAt ? -1 : 0)).slice(0, options.limit ?? 100).map((d) => ({ ...d }));
  }

  async deletionCounts(scheme: string): Promise<Partial<Record<DeletionStatus, number>>> {
    const out: Partial<Record<DeletionStatus, number>> = {};
    for (const d of this.deletionsFor(scheme).values()) out[d.status] = (out[d.status] ?? 0) + 1;
    return out;
  }

  async close(): Promise<void> {}
}
