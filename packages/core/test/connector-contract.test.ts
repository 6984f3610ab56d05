import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/index.js';
import { describeConnectorContract, keyProblems, memoryConnector, memoryRecord, sampleProblems } from '../src/testing/vitest.js';

const manifest = memoryConnector.manifest;

// The contract on a connector that gives it something to check: every test it declares passes.
describeConnectorContract(memoryConnector, {
  connection: {},
  sampleRecords: { records: [1, 2, 3].map((i) => memoryRecord(i).data) },
  samplePayloads: { 'records.save': [{ code: 'R0000001', name: { zh_CN: '记录 1' } }] },
});

describe('the connector contract fails when it has nothing to check', () => {
  it('fails a connector without samples and with a primary key its record schema lacks (run in a vitest of its own)', async () => {
    const { startVitest } = await import('vitest/node');
    const root = fileURLToPath(new URL('..', import.meta.url));
    const vitest = await startVitest('test', [], {
      watch: false,
      config: false,
      root,
      include: ['test/fixtures/contract-without-samples.fixture.ts'],
      setupFiles: ['reflect-metadata'],
      reporters: [{}], // a reporter that prints nothing: the failures below are expected
    });
    const results = new Map<string, { state: string | undefined; message: string | undefined }>();
    try {
      const walk = (task: { type: string; name: string; result?: { state?: string; errors?: { message?: string }[] }; tasks?: unknown[] }): void => {
        if (task.type === 'test') results.set(task.name, { state: task.result?.state, message: task.result?.errors?.[0]?.message });
        for (const t of task.tasks ?? []) walk(t as typeof task);
      };
      for (const file of vitest.state.getFiles()) walk(file);
    } finally {
      await vitest.close();
      process.exitCode = 0; // the inner run's failures are what this test expects, not this run's
    }
    const failed = [...results].filter(([, r]) => r.state === 'fail');
    expect(failed.map(([name]) => name).sort()).toEqual([
      'declares primary keys, cursor fields and upsert keys that are fields of their schemas',
      'operation records.save: sample payloads validate against its input schema (0)',
      'stream records: sample records validate against its record schema (0)',
    ]);
    const message = (name: string) => results.get(name)?.message ?? '';
    expect(message('stream records: sample records validate against its record schema (0)')).toContain(
      'memory contract test at /sampleRecords/records: expected sample records for stream records, found none',
    );
    expect(message('operation records.save: sample payloads validate against its input schema (0)')).toContain(
      "pass samplePayloads: { 'records.save': [...] } to describeConnectorContract",
    );
    expect(message('declares primary keys, cursor fields and upsert keys that are fields of their schemas')).toContain(
      'memory manifest at /streams/0/primaryKey: expected the primary key of stream records to be a property of /streams/0/record',
    );
  }, 60_000);

  it('names every stream and operation without samples, and samples for ones the manifest does not declare', () => {
    expect(sampleProblems(manifest, {}).map((p) => p.pointer)).toEqual(['/sampleRecords/records', '/samplePayloads/records.save']);
    expect(sampleProblems(manifest, { sampleRecords: { records: [] }, samplePayloads: { 'records.save': [{}] } }).map(formatProblem)).toEqual([
      expect.stringContaining('at /sampleRecords/records: expected sample records for stream records, found an empty list'),
    ]);
    const typo = sampleProblems(manifest, { sampleRecords: { records: [{}], record: [{}] }, samplePayloads: { 'records.save': [{}] } });
    expect(typo.map(formatProblem)).toEqual(["memory contract test at /sampleRecords/record: expected one of the manifest's streams (records), found \"record\""]);
  });

  it('fails a connector that declares neither a stream nor an operation', () => {
    const empty = { ...structuredClone(manifest), streams: [], operations: [] };
    expect(sampleProblems(empty, {}).map(formatProblem)).toEqual([
      'memory manifest: expected at least one stream or operation, found neither\n    hint: a connector offers streams to read, operations to write, or both',
    ]);
  });

  it('names a primary key, cursor field or upsert key that its schema does not have', () => {
    expect(keyProblems(manifest)).toEqual([]);
    const broken = structuredClone(manifest);
    broken.streams[0]!.primaryKey = 'record_id';
    broken.streams[0]!.cursor = { field: 'modified_at', format: 'ISO 8601' };
    broken.operations[0]!.upsert = { key: 'number', lookup: '/records/get' };
    const problems = keyProblems(broken);
    expect(problems.map((p) => [p.pointer, p.found])).toEqual([
      ['/streams/0/primaryKey', '"record_id"'],
      ['/streams/0/cursor/field', '"modified_at"'],
      ['/operations/0/upsert/key', '"number"'],
    ]);
    expect(formatProblem(problems[1]!)).toBe(
      'memory manifest at /streams/0/cursor/field: expected the cursor field of stream records to be a property of /streams/0/record ' +
        '(it has id, name, amount, city, tags, updated_at, poison), found "modified_at"\n' +
        '    hint: add "modified_at" to /streams/0/record/properties, or name the field the system really sends',
    );
  });
});
