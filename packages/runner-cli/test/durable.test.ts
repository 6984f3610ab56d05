import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insertsPerCode, memoryScheme, qiao, startQiao, tempDir, waitFor, writeTemp } from './helpers.js';

const COUNT = 200;

function lines(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

function queueCounts(state: string, scheme: string): Record<string, number> {
  const path = join(state, 'state.db');
  if (!existsSync(path)) return {};
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    const rows = db.prepare('SELECT status, COUNT(*) n FROM queue WHERE scheme = ? GROUP BY status').all(scheme) as { status: string; n: number }[];
    const counts: Record<string, number> = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    // a run's writes in progress are journal rows (one per enqueued batch), in flight
    const journal = db.prepare('SELECT COALESCE(SUM(n), 0) AS n FROM journal WHERE scheme = ?').get(scheme) as { n: number };
    counts['in-flight'] = (counts['in-flight'] ?? 0) + journal.n;
    return counts;
  } catch {
    return {};
  } finally {
    db.close();
  }
}

function cursorOf(state: string, scheme: string): string | undefined {
  const db = new Database(join(state, 'state.db'), { readonly: true });
  try {
    return (db.prepare('SELECT value FROM cursors WHERE scheme = ?').get(scheme) as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
}

async function killAt(point: string, delays: { readDelayMs?: number; writeDelayMs?: number }, when: (ctx: { state: string; target: string }) => boolean) {
  const dir = tempDir(`qiao-kill-${point}-`);
  const state = join(dir, 'state');
  const target = join(dir, 'target.jsonl');
  const id = `kill-${point}`;
  const slow = writeTemp(dir, 'slow.yaml', memoryScheme({ id, count: COUNT, targetFile: target, pageSize: 20, ...delays }));
  const fast = writeTemp(dir, 'fast.yaml', memoryScheme({ id, count: COUNT, targetFile: target, pageSize: 20 }));

  const { child, done } = startQiao(['run', slow, '--state', state, '--quiet']);
  await waitFor(() => when({ state, target }), 30_000, `kill point ${point}`);
  child.kill('SIGKILL');
  const killed = await done;
  expect(killed.signal).toBe('SIGKILL');
  const before = lines(target);
  // the cursor never passes a record that was not delivered
  expect(cursorOf(state, id)).toBeUndefined();

  const rerun = await qiao(['run', fast, '--state', state, '--json']);
  expect(rerun.code, rerun.stderr).toBe(0);
  const report = JSON.parse(rerun.stdout) as { counts: { inserted: number; updated: number } };
  const inserts = insertsPerCode(target);
  expect(inserts.size).toBe(COUNT);
  expect([...inserts.values()].filter((n) => n !== 1)).toEqual([]);
  expect(cursorOf(state, id)).toBe('2026-01-01T00:03:20.000Z');
  return { before, report };
}

describe('crash safety: SIGKILL, then run again — every record delivered exactly once', () => {
  it('killed while reading', async () => {
    const { before } = await killAt('reading', { readDelayMs: 300 }, ({ target }) => lines(target) >= 10);
    expect(before).toBeLessThan(COUNT);
  });

  it('killed right after enqueue, before any write finished', async () => {
    await killAt('enqueued', { writeDelayMs: 60_000 }, ({ state, target }) => {
      const c = queueCounts(state, 'kill-enqueued');
      return (c.pending ?? 0) + (c['in-flight'] ?? 0) >= 100 && lines(target) === 0;
    });
  });

  it('killed in the middle of writes (some in flight)', async () => {
    const { before, report } = await killAt('writing', { writeDelayMs: 15 }, ({ target }) => lines(target) >= 60);
    expect(before).toBeGreaterThanOrEqual(60);
    expect(before).toBeLessThan(COUNT);
    // writes that were in flight are looked up again rather than inserted twice
    expect(report.counts.inserted + report.counts.updated).toBeGreaterThanOrEqual(COUNT - before);
  });
});

describe('dead letters and re-queue', () => {
  it('a poisoned record goes dead; queue retry puts it back and a run delivers it once the cause is fixed', async () => {
    const dir = tempDir('qiao-poison-');
    const state = join(dir, 'state');
    const target = join(dir, 't.jsonl');
    const bad = writeTemp(dir, 'bad.yaml', memoryScheme({ id: 'poison', count: 30, poisonEvery: 10, targetFile: target }));
    const first = await qiao(['run', bad, '--state', state, '--json']);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'partial', counts: { inserted: 27, failed: 3 } });

    const dead = await qiao(['queue', bad, '--status', 'dead', '--json', '--state', state]);
    const listed = JSON.parse(dead.stdout) as { counts: { dead: number }; items: { id: number; key: string; lastErrorCode: string; diagnosis: string }[] };
    expect(listed.counts.dead).toBe(3);
    expect(listed.items.map((i) => i.key)).toEqual(['R0000010', 'R0000020', 'R0000030']);
    expect(listed.items[0]!.lastErrorCode).toBe('memory.poison');

    // still poisoned: re-queued, it fails again and stays dead
    const again = await qiao(['queue', 'retry', bad, '--id', String(listed.items[0]!.id), '--run', '--state', state, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ requeued: 1, report: { counts: { failed: 1 } } });

    // cause fixed: re-queue all; the next run delivers them
    const fixed = writeTemp(dir, 'fixed.yaml', memoryScheme({ id: 'poison', count: 30, poisonEvery: 10, targetFile: target, acceptPoison: 'true' }));
    const retry = await qiao(['queue', 'retry', fixed, '--all', '--state', state]);
    expect(retry.code).toBe(0);
    expect(retry.stderr).toContain('re-queued 3');
    const run = await qiao(['run', fixed, '--state', state, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', resumed: 3, counts: { inserted: 3, failed: 0 } });
    const inserts = insertsPerCode(target);
    expect(inserts.size).toBe(30);
    expect([...inserts.values()].every((n) => n === 1)).toBe(true);

    const runs = await qiao(['runs', 'poison', '--state', state, '--json']);
    expect((JSON.parse(runs.stdout) as unknown[]).length).toBe(3);
  });
});

describe('one run per scheme', () => {
  it('refuses a second concurrent run clearly, or waits with --wait', async () => {
    const dir = tempDir('qiao-lock-');
    const state = join(dir, 'state');
    const target = join(dir, 't.jsonl');
    const file = writeTemp(dir, 'slow.yaml', memoryScheme({ id: 'locked', count: 40, targetFile: target, writeDelayMs: 250 }));
    const first = startQiao(['run', file, '--state', state, '--quiet']);
    await waitFor(() => lines(target) > 0, 20_000, 'first run writing');
    const second = await qiao(['run', file, '--state', state]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/no other run of scheme locked/);
    expect(second.stderr).toContain('--wait');
    const waiting = await qiao(['run', file, '--state', state, '--wait', '--json']);
    expect((await first.done).code).toBe(0);
    expect(waiting.code).toBe(0);
    expect(JSON.parse(waiting.stdout)).toMatchObject({ counts: { read: 0 } });
  });
});
