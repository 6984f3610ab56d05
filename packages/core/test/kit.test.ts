import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConnectorAuthError, defineConnector, type SourceRecord } from '../src/index.js';
import { connectorKit, futureCursorLike, memoryConnector, memoryManifest, memoryRecord } from '../src/testing/index.js';

// The kit declared as vitest tests: the memory connector passes every case.
describe('the behavioural kit under vitest', () => {
  connectorKit(memoryConnector).define(it);
});

/**
 * A connector that gets everything wrong the kit checks: its check lets any secret in, its read ignores
 * `limit`, the signal and the cursor, keys records by another field, and its write inserts again when
 * retried.
 */
function brokenConnector() {
  let nextId = 1;
  return defineConnector({
    manifest: memoryManifest,
    streams: {
      records: {
        async *read(): AsyncIterable<SourceRecord> {
          for (let i = 1; i <= 5; i++) {
            const r = memoryRecord(i);
            yield { ...r, key: `wrong-${i}`, data: { ...r.data, amount: 'not a number' } };
          }
        },
      },
    },
    operations: { 'records.save': { write: async () => ({ outcome: 'inserted', id: `B${nextId++}` }) } },
    check: async () => 'fine whatever the secret',
  });
}

describe('the behavioural kit on its own', () => {
  it('passes the memory connector on every case', async () => {
    const results = await connectorKit(memoryConnector).run();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual([
      'memory: the manifest validates and its keys are fields of its schemas',
      'memory: check passes with a good connection',
      'memory: check is refused with a bad connection (wrong secret)',
      'memory: stream records: records validate against its schema, keyed by id, with updated_at as cursor',
      'memory: stream records: honours limit',
      'memory: stream records: stops when its signal aborts',
      'memory: stream records: yields nothing from a cursor in the future',
      'memory: operation records.save: a write retried as maybe-written finds its record instead of writing a second',
      'memory: stops the system under test',
    ]);
  });

  it('fails a deliberately broken connector, case by case, saying why', async () => {
    const results = await connectorKit(brokenConnector(), {
      connection: {},
      badConnection: { token: 'wrong' },
      operations: { 'records.save': { payload: (u) => ({ code: `K${u}`, name: { zh_CN: u } }) } },
    }).run();
    const failed = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.name.replace(/^memory: /, ''), r.error]));
    expect(Object.keys(failed).sort()).toEqual(
      [
        'check is refused with a bad connection (wrong secret)',
        'stream records: records validate against its schema, keyed by id, with updated_at as cursor',
        'stream records: honours limit',
        'stream records: stops when its signal aborts',
        'stream records: yields nothing from a cursor in the future',
        'operation records.save: a write retried as maybe-written finds its record instead of writing a second',
      ].sort(),
    );
    expect(failed['check is refused with a bad connection (wrong secret)']).toContain('check passed with a wrong secret');
    expect(failed['stream records: records validate against its schema, keyed by id, with updated_at as cursor']).toContain('key "wrong-1" is not data.id ("R0000001")');
    expect(failed['stream records: records validate against its schema, keyed by id, with updated_at as cursor']).toContain('/amount: must be number');
    expect(failed['stream records: honours limit']).toBe('a read with limit 1 yielded 5 records');
    expect(failed['operation records.save: a write retried as maybe-written finds its record instead of writing a second']).toContain('answered inserted "B2"');
  });

  it('wants a ConnectorAuthError from a refused check, and a payload for every operation', async () => {
    const plugin = defineConnector({
      manifest: memoryManifest,
      streams: { records: memoryConnector.testing ? { read: async function* () {} } : {} as never },
      operations: { 'records.save': { write: async () => ({ outcome: 'inserted', id: '1' }) } },
      check: async (conn) => {
        if (conn.config.token === 'wrong') throw new Error('plain error');
        return 'ok';
      },
    });
    const results = await connectorKit(plugin, { connection: {}, badConnection: { token: 'wrong' } }).run();
    const byName = (part: string) => results.find((r) => r.name.includes(part))!;
    expect(byName('bad connection').error).toContain('expected a ConnectorAuthError');
    expect(byName('records.save').error).toContain("no payload for operation records.save");
    // an auth error passes
    const good = defineConnector({
      manifest: memoryManifest,
      streams: { records: { read: async function* () {} } },
      operations: { 'records.save': { write: async () => ({ outcome: 'inserted', id: '1' }) } },
      check: async (conn) => {
        if (conn.config.token === 'wrong') throw new ConnectorAuthError('refused', { system: 'memory' });
        return 'ok';
      },
    });
    expect((await connectorKit(good, { connection: {}, badConnection: { token: 'wrong' } }).run()).find((r) => r.name.includes('bad connection'))!.ok).toBe(true);
  });

  it('makes a cursor in the future from one the stream yields', () => {
    expect(futureCursorLike('2026-01-01T00:00:01.000Z')).toBe('2999-01-01T00:00:01.000Z');
    expect(futureCursorLike('2024-05-01 08:30:00')).toBe('2999-05-01 08:30:00');
    expect(Number(futureCursorLike('1767225601000'))).toBeGreaterThan(Date.now() * 10);
  });

  it('runs under node --test from the built package, with no vitest in sight', () => {
    const file = fileURLToPath(new URL('./fixtures/kit.node-test.mjs', import.meta.url));
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('memory: operation records.save: a write retried as maybe-written finds its record instead of writing a second');
    expect(r.stdout).toMatch(/pass 9/);
  });
});
