import { describe, expect, it } from 'vitest';
import {
  dryRunScheme,
  loadScheme,
  previewScheme,
  runLoadedScheme,
  SqliteStateStore,
  wireScheme,
  type Target,
  type TargetPayload,
} from '../src/index.js';
import { memoryResolver, tempDir, writeTemp } from './helpers.js';

const dir = tempDir('qiao-map-stage-');

// R0000001: good; R0000002: its payload has an empty name (fails the operation's input schema);
// R0000003: its mapping throws; R0000004: good, and unchanged since its last delivery.
const schemeText = `version: 1
id: map-stage
source:
  connector: memory
  stream: records
  params: { count: 4 }
  incremental: false
target:
  connector: memory
  operation: records.save
  connection: { store: map-stage }
mapping:
  code: id
  name.zh_CN: "amount = 20 ? '' : name"
  amount: "amount = 30 ? $error('no amount for record 3') : amount"
  city: city
`;

describe('run, preview and dry run share one map stage', () => {
  it('agree on payloads, fingerprints and dead-letter reasons for the same records', async () => {
    const loaded = await loadScheme(writeTemp(dir, 'map-stage.yaml', schemeText), { resolver: memoryResolver, env: {} });
    const store = new SqliteStateStore(tempDir());
    const first = await runLoadedScheme(loaded, store);
    expect(first.counts).toMatchObject({ read: 4, inserted: 2, failed: 2 });
    // R0000001 changes in the source; R0000004 stays as it was delivered
    loaded.source.params.changed = 1;
    const wired = wireScheme(loaded);

    const rows = await previewScheme(loaded, wired, { store, limit: 10 });
    const dry = await dryRunScheme(loaded, wired, { store });

    const written = new Map<string, TargetPayload>();
    const target: Target = {
      write: (payload, ctx) => {
        written.set(ctx.key, payload);
        return wired.target.write(payload, ctx);
      },
    };
    const run = await runLoadedScheme(loaded, store, { wired: { ...wired, target } });

    // preview: what each record is
    const row = (key: string) => rows.find((r) => r.key === key)!;
    expect(rows.map((r) => [r.key, r.action, r.reason])).toEqual([
      ['R0000001', 'write', undefined],
      ['R0000002', 'invalid', 'payload.invalid'],
      ['R0000003', 'invalid', 'mapping.error'],
      ['R0000004', 'unchanged', undefined],
    ]);

    // the run wrote exactly what the preview showed, under the fingerprint the preview showed
    expect([...written.keys()]).toEqual(['R0000001']);
    expect(written.get('R0000001')).toEqual(row('R0000001').payload);
    expect(row('R0000001').payload).toMatchObject({ name: { zh_CN: '记录 1 (v2)' }, amount: 11 });
    const delivered = await store.delivered(loaded.scheme.id, ['R0000001', 'R0000004']);
    expect(delivered.get('R0000001')?.fingerprint).toBe(row('R0000001').fingerprint);
    // what the preview calls unchanged is what the run skipped: its fingerprint is the one delivered
    expect(delivered.get('R0000004')?.fingerprint).toBe(row('R0000004').fingerprint);

    // the run's dead letters carry the reasons, messages and payloads the preview gave
    const dead = await store.list(loaded.scheme.id, { status: 'dead' });
    expect(dead.map((d) => [d.key, d.lastErrorCode, d.lastErrorMessage, d.payload ?? undefined])).toEqual(
      ['R0000002', 'R0000003'].map((k) => [k, row(k).reason, row(k).message, row(k).payload]),
    );
    expect(row('R0000002').message).toContain('/name/zh_CN');
    expect(row('R0000003').message).toContain('no amount for record 3');

    // the dry run's report is the run's, but for what it did not write
    expect(run.counts).toEqual({ read: 4, inserted: 0, updated: 1, skipped: 1, failed: 2 });
    expect(dry).toMatchObject({ dryRun: true, wouldWrite: 1, status: run.status, counts: { read: 4, inserted: 0, updated: 0, skipped: 1, failed: 2 } });
    expect(dry.errors).toEqual(run.errors);
    expect(run.errors.map((e) => e.code).sort()).toEqual(['mapping.error', 'payload.invalid']);
  });
});
