import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionContext, ConnectorPlugin } from '../contracts/connector-plugin.js';
import type { ReadContext, Source, SourceRecord } from '../contracts/source.js';
import type { Target, TargetPayload, WriteContext, WriteResult } from '../contracts/target.js';
import { RecordError } from '../errors/errors.js';
import { loadManifest } from '../manifest/load-manifest.js';
import { defineConnector } from '../plugin/define-connector.js';

/**
 * The in-memory connector (`memory`): a source that generates records and a target that upserts them by
 * id, keeping them in the process or, with `connection.file`, in a JSON-lines file so that several
 * processes (a run killed and run again) write to the same target. Used by tests, the bundled example
 * scheme and the engine benchmark.
 */
export const memoryManifest = loadManifest(
  {
    id: 'memory',
    name: 'In-memory test system',
    version: '0.1.0',
    description: 'Generates records and keeps written ones in memory (or a JSON-lines file); for tests, examples and benchmarks.',
    connection: {
      type: 'object',
      additionalProperties: false,
      properties: {
        file: { type: 'string', title: '目标数据文件', description: 'JSON-lines file the target keeps its records in; empty keeps them in this process' },
        store: { type: 'string', title: '内存库名称', default: 'default', description: 'name of the in-process target store' },
        readDelayMs: { type: 'integer', minimum: 0, default: 0, title: '读取延迟(毫秒/页)' },
        writeDelayMs: { type: 'integer', minimum: 0, default: 0, title: '写入延迟(毫秒/条)' },
        acceptPoison: { type: 'boolean', default: false, title: '接受被标记的记录', description: 'accept records with poison: true (the cause was fixed)' },
        keepPayloads: { type: 'boolean', default: true, title: '保留写入内容', description: 'false keeps only codes and ids (benchmarks of 100k records)' },
        token: { type: 'string', title: '访问令牌', 'x-secret': true, description: 'not used; shows how secrets are handled' },
      },
    },
    limits: { concurrency: 8 },
    streams: [
      {
        id: 'records',
        label: '测试记录',
        api: '/records',
        method: 'GET',
        params: {
          type: 'object',
          additionalProperties: false,
          properties: {
            count: { type: 'integer', minimum: 0, default: 100, title: '记录数' },
            pageSize: { type: 'integer', minimum: 1, default: 500, title: '每页记录数' },
            poisonEvery: { type: 'integer', minimum: 0, default: 0, title: '每N条标记一条坏记录' },
            changed: { type: 'integer', minimum: 0, default: 0, title: '变更的记录数', description: 'the first N records carry newer content and update time' },
          },
        },
        primaryKey: 'id',
        cursor: { field: 'updated_at', format: 'ISO 8601' },
        record: {
          type: 'object',
          required: ['id', 'name', 'updated_at'],
          properties: {
            id: { type: 'string', title: '记录ID' },
            name: { type: 'string', title: '名称' },
            amount: { type: 'number', title: '金额' },
            city: { type: 'string', title: '城市' },
            tags: { type: 'array', items: { type: 'string' }, title: '标签' },
            updated_at: { type: 'string', title: '更新时间' },
            poison: { type: 'boolean', title: '坏记录' },
          },
        },
      },
    ],
    operations: [
      {
        id: 'records.save',
        label: '测试记录保存',
        api: '/records/save',
        method: 'POST',
        input: {
          type: 'object',
          required: ['code', 'name'],
          properties: {
            code: { type: 'string', minLength: 1, title: '编码' },
            name: {
              type: 'object',
              title: '名称',
              required: ['zh_CN'],
              properties: { zh_CN: { type: 'string', minLength: 1, title: '简体中文' } },
            },
            amount: { type: 'number', title: '金额' },
            city: { type: 'string', title: '城市' },
            tags: { type: 'array', title: '标签' },
            poison: { type: 'boolean', title: '坏记录' },
          },
        },
        upsert: { key: 'code', lookup: '/records/get' },
      },
    ],
  },
  'memory connector manifest',
);

const BASE_TIME = Date.UTC(2026, 0, 1);
const CITIES = ['上海', '北京', '深圳', '杭州', '苏州', '成都'];

/** Record `i` of the generated data set. */
export function memoryRecord(i: number, changed = 0): SourceRecord {
  const isChanged = i <= changed;
  const data = {
    id: `R${String(i).padStart(7, '0')}`,
    name: `记录 ${i}${isChanged ? ' (v2)' : ''}`,
    amount: i * 10 + (isChanged ? 1 : 0),
    city: CITIES[i % CITIES.length]!,
    tags: i % 3 === 0 ? ['vip'] : [],
    updated_at: new Date(BASE_TIME + i * 1000 + (isChanged ? 86_400_000 * 30 : 0)).toISOString(),
  };
  return { stream: 'records', key: data.id, cursor: data.updated_at, data };
}

/** The `records` stream: generates `params.count` records, page by page. */
export class MemorySource implements Source {
  constructor(private readonly conn: ConnectionContext) {}

  async *read(ctx: ReadContext): AsyncIterable<SourceRecord> {
    const count = Number(ctx.params.count ?? 100);
    const pageSize = Number(ctx.params.pageSize ?? 500);
    const poisonEvery = Number(ctx.params.poisonEvery ?? 0);
    const changed = Number(ctx.params.changed ?? 0);
    const delay = Number(this.conn.config.readDelayMs ?? 0);
    const since = ctx.cursor ? new Date(Date.parse(ctx.cursor) - ctx.lookbackMs).toISOString() : undefined;
    ctx.onTotal?.(count);
    let yielded = 0;
    for (let page = 0; page * pageSize < count; page++) {
      if (ctx.signal.aborted) return;
      if (delay) await this.conn.limiter.schedule(() => sleep(delay));
      const end = Math.min(count, (page + 1) * pageSize);
      for (let i = page * pageSize + 1; i <= end; i++) {
        const rec = memoryRecord(i, changed);
        if (since && rec.cursor! <= since) continue;
        if (poisonEvery && i % poisonEvery === 0) rec.data.poison = true;
        if (ctx.signal.aborted || (ctx.limit !== undefined && yielded >= ctx.limit)) return;
        yielded++;
        yield rec;
      }
    }
  }
}

/** What a memory target holds: records by code and how often each code was inserted. */
export class MemoryTargetStore {
  readonly records = new Map<string, { id: string; payload: TargetPayload }>();
  readonly inserts = new Map<string, number>();
  readonly updates = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly file?: string,
    private readonly keepPayloads = true,
  ) {
    if (file && existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let e: { op: 'insert' | 'update'; code: string; id: string; payload: TargetPayload };
        try {
          e = JSON.parse(line) as typeof e;
        } catch {
          continue; // a line torn by a crash mid-append
        }
        this.apply(e);
      }
    }
  }

  private apply(e: { op: 'insert' | 'update'; code: string; id: string; payload: TargetPayload }): void {
    this.records.set(e.code, { id: e.id, payload: this.keepPayloads ? e.payload : {} });
    const counter = e.op === 'insert' ? this.inserts : this.updates;
    counter.set(e.code, (counter.get(e.code) ?? 0) + 1);
    this.nextId = Math.max(this.nextId, Number(e.id.slice(1)) + 1);
  }

  upsert(code: string, payload: TargetPayload): WriteResult {
    const existing = this.records.get(code);
    const e = existing
      ? { op: 'update' as const, code, id: existing.id, payload }
      : { op: 'insert' as const, code, id: `M${this.nextId++}`, payload };
    if (this.file) appendFileSync(this.file, JSON.stringify(e) + '\n');
    this.apply(e);
    return { outcome: existing ? 'updated' : 'inserted', id: e.id };
  }
}

const stores = new Map<string, MemoryTargetStore>();

/** The memory target store of that name (or file), shared by every target in the process. */
export function memoryTargetStore(name = 'default', keepPayloads = true): MemoryTargetStore {
  let s = stores.get(name);
  if (!s) {
    s = new MemoryTargetStore(undefined, keepPayloads);
    stores.set(name, s);
  }
  return s;
}

/** Forgets every in-process memory target store (tests). */
export function resetMemoryTargets(): void {
  stores.clear();
}

/** The `records.save` operation: upserts by `code`. */
export class MemoryTarget implements Target {
  private readonly store: MemoryTargetStore;

  constructor(private readonly conn: ConnectionContext) {
    const file = conn.config.file as string | undefined;
    // A file-backed store is read fresh by each target so several processes see each other's writes.
    const keep = conn.config.keepPayloads !== false;
    this.store = file ? new MemoryTargetStore(file, keep) : memoryTargetStore(String(conn.config.store ?? 'default'), keep);
  }

  async write(payload: TargetPayload, _ctx: WriteContext): Promise<WriteResult> {
    const delay = Number(this.conn.config.writeDelayMs ?? 0);
    return this.conn.limiter.schedule(async () => {
      if (delay) await sleep(delay);
      if (payload.poison === true && this.conn.config.acceptPoison !== true) {
        throw new RecordError(`memory target refused record ${String(payload.code)}: it is marked poison`, {
          system: 'memory',
          reason: 'memory.poison',
          hint: 'set acceptPoison: true in the target connection once the cause is fixed',
        });
      }
      return this.store.upsert(String(payload.code), payload);
    });
  }
}

/** The in-memory connector, written with {@link defineConnector} like any other. */
export const memoryConnector: ConnectorPlugin = defineConnector({
  manifest: memoryManifest,
  streams: { records: MemorySource },
  operations: { 'records.save': MemoryTarget },
  check: async (conn) => `memory connector ready${conn.config.file ? ` (file ${String(conn.config.file)})` : ''}`,
  diagnoses: [
    { reason: 'memory.poison', hint: 'The record is marked poison: fix the cause (acceptPoison: true), then `qiao queue retry <scheme>`.' },
  ],
  testing: {
    setup: async () => ({
      connection: { store: `kit-${process.pid}-${Date.now()}` },
      // an in-process store refuses nothing
      badConnection: false,
      streams: { records: { params: { count: 20, pageSize: 5 } } },
      operations: { 'records.save': { payload: (unique: string) => ({ code: `KIT-${unique}`, name: { zh_CN: `测试 ${unique}` } }) } },
    }),
  },
});

export default memoryConnector;
