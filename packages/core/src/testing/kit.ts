import type { ConnectorPlugin } from '../contracts/connector-plugin.js';
import { silentLogger } from '../contracts/logger.js';
import type { ReadContext, SourceRecord } from '../contracts/source.js';
import type { WriteContext, WriteResult } from '../contracts/target.js';
import { formatProblem } from '../errors/errors.js';
import { createAjv } from '../manifest/ajv.js';
import { loadManifest, secretFields } from '../manifest/load-manifest.js';
import type { StreamManifest } from '../manifest/manifest-types.js';
import { connectPlugin, type ConnectedPlugin } from '../plugin/connect.js';
import { keyProblems } from './connector-contract-checks.js';
import type { KitOptions, StreamKitOptions } from './kit-options.js';

export type { KitOptions, OperationKitOptions, StreamKitOptions } from './kit-options.js';

/** One behavioural check of the kit. */
export interface KitCase {
  name: string;
  run(): Promise<void>;
}

/** The outcome of one case when the kit runs on its own (`qiao connectors test`). */
export interface KitResult {
  name: string;
  ok: boolean;
  ms: number;
  /** Why it failed. */
  error?: string | undefined;
}

/**
 * Any test runner's `test`/`it`: both `node:test` and vitest take `(name, { timeout }, fn)`.
 */
export type TestFunction = (name: string, options: { timeout: number }, fn: () => Promise<void>) => unknown;

export interface ConnectorKit {
  /** The checks, in the order they must run (the last one stops the system under test). */
  cases: KitCase[];
  /**
   * Declares every case with your test runner's `test` or `it`.
   * @example import { test } from 'node:test'; connectorKit(plugin).define(test);
   * @example import { it } from 'vitest'; connectorKit(plugin).define(it);
   */
  define(test: TestFunction): void;
  /** Runs every case in order, without a test runner. */
  run(onResult?: (r: KitResult) => void): Promise<KitResult[]>;
}

class KitFailure extends Error {
  override name = 'KitFailure';
}

function fail(message: string): never {
  throw new KitFailure(message);
}

async function withTimeout<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KitFailure(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

let uniqueCounter = 0;
/** Differs on every call and every run. */
function unique(): string {
  return `${Date.now().toString(36)}${process.pid.toString(36)}${(uniqueCounter++).toString(36)}`.toUpperCase();
}

/**
 * A cursor later than every record: `cursor` with its first four-digit year replaced by 2999, or a
 * larger number of the same kind for a numeric cursor.
 */
export function futureCursorLike(cursor: string): string | undefined {
  if (/^\d+$/.test(cursor)) return '9'.repeat(Math.max(cursor.length + 1, 14));
  if (/(19|20)\d\d/.test(cursor)) return cursor.replace(/(19|20)\d\d/, '2999');
  return undefined;
}

/**
 * The behavioural test kit, for any test runner (`node --test`, vitest) and for
 * `qiao connectors test`. Like Airbyte's acceptance tests, it runs the connector against a live
 * system (its simulator) and checks what it does:
 * - the manifest validates, and its keys are fields of its schemas;
 * - check passes with a good connection and is refused (`ConnectorAuthError`) with a bad one;
 * - each stream yields records that validate against its record schema, keyed by the primary key,
 *   with the cursor field as cursor; honours `limit` and an aborted signal; yields nothing from a
 *   cursor in the future;
 * - each operation's write, retried as maybe-written, finds the record it wrote instead of writing a
 *   second one.
 *
 * @param options how to reach the system; @default the connector's own `testing.setup()`
 * @example
 * import { test } from 'node:test';
 * import { connectorKit } from '@qiao/core/testing';
 * import connector from '../src/index.js';
 * connectorKit(connector).define(test);
 */
export function connectorKit(plugin: ConnectorPlugin, options?: KitOptions): ConnectorKit {
  const m = plugin.manifest;
  let setup: Promise<KitOptions & { close?: () => Promise<void> }> | undefined;
  const options$ = () => {
    setup ??= (async () => {
      if (options) return options;
      if (!plugin.testing) {
        fail(`connector ${m.id} has no testing.setup (defineConnector({ testing: { setup } })), and the kit was given no options: pass connectorKit(plugin, { connection, … })`);
      }
      return plugin.testing.setup();
    })();
    return setup;
  };
  const timeout = () => options?.timeoutMs ?? 60_000;
  const connect = async (which: 'good' | 'bad' = 'good', side: 'source' | 'target' = 'source'): Promise<ConnectedPlugin> => {
    const o = await options$();
    if (which === 'good') return connectPlugin(plugin, o.connection, { side });
    return connectPlugin(plugin, badConnection(o) as Record<string, unknown>, { side });
  };
  const badConnection = (o: KitOptions): Record<string, unknown> | false => {
    if (o.badConnection !== undefined) return o.badConnection;
    const secrets = secretFields(m);
    if (secrets.length === 0) return false;
    return { ...o.connection, ...Object.fromEntries(secrets.map((f) => [f, `wrong-${unique()}`])) };
  };
  const streamOptions = async (s: StreamManifest): Promise<StreamKitOptions | false> => {
    const o = (await options$()).streams?.[s.id];
    return o === false ? false : (o ?? {});
  };
  const readCtx = (s: StreamKitOptions, extra: Partial<ReadContext> = {}): ReadContext => ({
    params: s.params ?? {},
    detail: s.detail ?? false,
    lookbackMs: 0,
    signal: new AbortController().signal,
    logger: silentLogger,
    ...extra,
  });
  /** Params completed with the stream's defaults, as a scheme's would be. */
  const withDefaults = (s: StreamManifest, so: StreamKitOptions): StreamKitOptions => {
    const params = structuredClone(so.params ?? {});
    createAjv({ useDefaults: true, coerceTypes: true }).compile(s.params)(params);
    return { ...so, params };
  };
  const firstCursor = new Map<string, string>();

  const cases: KitCase[] = [];
  const add = (name: string, run: () => Promise<void>) => cases.push({ name: `${m.id}: ${name}`, run: () => withTimeout(timeout(), name, run) });

  add('the manifest validates and its keys are fields of its schemas', async () => {
    loadManifest(structuredClone(m), `${m.id} manifest`);
    const problems = keyProblems(m);
    if (problems.length) fail(problems.map(formatProblem).join('\n'));
    if (m.streams.length + m.operations.length === 0) fail(`connector ${m.id} declares no stream and no operation`);
  });

  add('check passes with a good connection', async () => {
    const c = await connect('good');
    if (!c.check) fail(`connector ${m.id} registers no connection check: add check: (conn, signal) => … to defineConnector`);
    const said = await c.check.check(AbortSignal.timeout(timeout()));
    if (typeof said !== 'string' || !said.trim()) fail(`check resolved with ${JSON.stringify(said)}: expected a one-line description of what it did`);
  });

  add('check is refused with a bad connection (wrong secret)', async () => {
    const o = await options$();
    if (badConnection(o) === false) return; // a system that refuses nothing (in memory)
    const c = await connect('bad');
    if (!c.check) fail(`connector ${m.id} registers no connection check`);
    let error: unknown;
    try {
      await c.check.check(AbortSignal.timeout(timeout()));
    } catch (e) {
      error = e;
    }
    if (!error) fail('check passed with a wrong secret: it must authenticate (and reject with ConnectorAuthError)');
    const code = (error as { code?: string }).code;
    if (code !== 'QIAO_AUTH') fail(`check with a wrong secret rejected with ${(error as Error).name ?? typeof error} (${code ?? 'no code'}): ${(error as Error).message}; expected a ConnectorAuthError`);
  });

  for (const s of m.streams) {
    const validate = createAjv().compile(s.record);
    const readAll = async (c: ConnectedPlugin, ctx: ReadContext, max = 1000): Promise<SourceRecord[]> => {
      const out: SourceRecord[] = [];
      for await (const r of c.source(s.id).read(ctx)) {
        out.push(r);
        if (out.length >= max) break;
      }
      return out;
    };

    add(`stream ${s.id}: records validate against its schema, keyed by ${s.primaryKey}${s.cursor ? `, with ${s.cursor.field} as cursor` : ''}`, async () => {
      const so = await streamOptions(s);
      if (so === false) return;
      const c = await connect();
      const records = await readAll(c, readCtx(withDefaults(s, so)));
      const min = so.minRecords ?? 2;
      if (records.length < min) fail(`stream ${s.id} yielded ${records.length} records; the kit needs at least ${min} (seed the simulator, or set streams.${s.id}.minRecords)`);
      const keys = new Set<string>();
      const problems: string[] = [];
      records.forEach((r, i) => {
        if (problems.length >= 10) return;
        const at = `record ${i} (key ${JSON.stringify(r.key)})`;
        if (r.stream !== s.id) problems.push(`${at}: stream is ${JSON.stringify(r.stream)}, expected ${JSON.stringify(s.id)}`);
        if (r.skip) return;
        if (typeof r.key !== 'string' || !r.key) problems.push(`${at}: key must be a non-empty string`);
        else if (r.key !== String(r.data[s.primaryKey])) problems.push(`${at}: key ${JSON.stringify(r.key)} is not data.${s.primaryKey} (${JSON.stringify(r.data[s.primaryKey])})`);
        if (keys.has(r.key)) problems.push(`${at}: key yielded twice in one read`);
        keys.add(r.key);
        if (s.cursor) {
          const field = r.data[s.cursor.field];
          if (typeof r.cursor !== 'string' || !r.cursor) problems.push(`${at}: cursor missing (the stream declares cursor ${s.cursor.field})`);
          else if (field !== undefined && r.cursor !== String(field)) problems.push(`${at}: cursor ${JSON.stringify(r.cursor)} is not data.${s.cursor.field} (${JSON.stringify(field)})`);
          else if (!firstCursor.has(s.id)) firstCursor.set(s.id, r.cursor);
        }
        if (!validate(r.data)) {
          for (const e of validate.errors ?? []) problems.push(`${at} at ${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
        }
      });
      if (problems.length) fail(`stream ${s.id}: ${problems.length} problem(s) in ${records.length} records:\n  ${problems.join('\n  ')}`);
    });

    add(`stream ${s.id}: honours limit`, async () => {
      const so = await streamOptions(s);
      if (so === false) return;
      const records = await readAll(await connect(), readCtx(withDefaults(s, so), { limit: 1 }));
      if (records.length !== 1) fail(`a read with limit 1 yielded ${records.length} records`);
    });

    add(`stream ${s.id}: stops when its signal aborts`, async () => {
      const so = await streamOptions(s);
      if (so === false) return;
      const c = await connect();
      const before = new AbortController();
      before.abort(new Error('aborted by the kit'));
      let n = 0;
      try {
        for await (const _ of c.source(s.id).read(readCtx(withDefaults(s, so), { signal: before.signal }))) n++;
      } catch {
        // rejecting with the abort reason is fine
      }
      if (n > 0) fail(`a read whose signal was already aborted yielded ${n} records`);
      const during = new AbortController();
      try {
        await withTimeout(Math.min(timeout(), 15_000), 'a read aborted after its first record', async () => {
          for await (const _ of c.source(s.id).read(readCtx(withDefaults(s, so), { signal: during.signal }))) {
            during.abort(new Error('aborted by the kit'));
          }
        });
      } catch (e) {
        if (e instanceof KitFailure) throw e;
      }
    });

    if (s.cursor) {
      add(`stream ${s.id}: yields nothing from a cursor in the future`, async () => {
        const so = await streamOptions(s);
        if (so === false) return;
        const c = await connect();
        let sample = firstCursor.get(s.id);
        if (!sample) for await (const r of c.source(s.id).read(readCtx(withDefaults(s, so), { limit: 1 }))) sample = r.cursor;
        const future = so.futureCursor ?? (sample ? futureCursorLike(sample) : undefined);
        if (!future) fail(`cannot make a cursor in the future from ${JSON.stringify(sample)}: set streams.${s.id}.futureCursor`);
        const records = await readAll(c, readCtx(withDefaults(s, so), { cursor: future }));
        if (records.length) fail(`a read from cursor ${future} yielded ${records.length} records (first ${JSON.stringify(records[0]!.key)}, cursor ${JSON.stringify(records[0]!.cursor)})`);
      });
    }
  }

  for (const o of m.operations) {
    const validate = createAjv().compile(o.input);
    add(`operation ${o.id}: a write retried as maybe-written finds its record instead of writing a second`, async () => {
      const oo = (await options$()).operations?.[o.id];
      if (oo === false) return;
      if (!oo) fail(`no payload for operation ${o.id}: give operations: { '${o.id}': { payload: (unique) => ({ … }) } } (or false to leave it out)`);
      const key = unique();
      const payload = oo.payload(key);
      if (!validate(payload)) fail(`the kit's payload for ${o.id} does not validate against its input schema: ${JSON.stringify(validate.errors)}`);
      const c = await connect('good', 'target');
      const target = c.target(o.id);
      const ctx = (extra: Partial<WriteContext>): WriteContext => ({ key, maybeWritten: false, signal: AbortSignal.timeout(timeout()), logger: silentLogger, ...extra });
      const first: WriteResult = await target.write(structuredClone(payload), ctx({}));
      if (first.outcome !== 'inserted') fail(`the first write of a new record answered ${first.outcome}, expected inserted`);
      if (!first.id) fail('the first write answered no id: a write must say which record it wrote');
      // the process died after sending: nothing is known but the key
      const retried = await target.write(structuredClone(payload), ctx({ maybeWritten: true }));
      if (retried.outcome === 'inserted' || retried.id !== first.id) {
        fail(`a write retried as maybe-written answered ${retried.outcome} ${JSON.stringify(retried.id)}; expected the record the first write made (${JSON.stringify(first.id)}), updated or unchanged: look the record up by its key before inserting`);
      }
      const known = await target.write(structuredClone(payload), ctx({ knownId: first.id, ...(first.targetCode ? { knownCode: first.targetCode } : {}) }));
      if (known.id !== first.id) fail(`a write with knownId ${first.id} answered id ${JSON.stringify(known.id)}`);
    });
  }

  const close = async () => {
    const s = setup ? await setup.catch(() => undefined) : undefined;
    await s?.close?.();
  };
  cases.push({ name: `${m.id}: stops the system under test`, run: close });

  return {
    cases,
    define(test) {
      for (const c of cases) test(c.name, { timeout: timeout() + 5_000 }, c.run);
    },
    async run(onResult) {
      const results: KitResult[] = [];
      try {
        for (const c of cases) {
          const started = Date.now();
          let r: KitResult;
          try {
            await c.run();
            r = { name: c.name, ok: true, ms: Date.now() - started };
          } catch (e) {
            r = { name: c.name, ok: false, ms: Date.now() - started, error: (e as Error)?.message ?? String(e) };
          }
          results.push(r);
          onResult?.(r);
        }
      } finally {
        await close().catch(() => undefined);
      }
      return results;
    },
  };
}
