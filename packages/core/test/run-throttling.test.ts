import { describe, expect, it } from 'vitest';
import { loadScheme, runLoadedScheme, SqliteStateStore, wireScheme, type Progress, type Target } from '../src/index.js';
import { memoryResolver, tempDir, writeTemp } from './helpers.js';

const dir = tempDir('qiao-throttling-');

async function setup(name: string) {
  const file = writeTemp(
    dir,
    `${name}.yaml`,
    `version: 1
id: ${name}
source:
  connector: memory
  stream: records
  params: { count: 40, pageSize: 40 }
target:
  connector: memory
  operation: records.save
  connection: { store: ${name} }
  limits: { requestsPerSecond: 50, concurrency: 2 }
mapping:
  code: id
  name.zh_CN: name
`,
  );
  const loaded = await loadScheme(file, { resolver: memoryResolver, env: {} });
  return { loaded, wired: wireScheme(loaded) };
}

describe('the run report and progress say how much of the run each connection was throttled', () => {
  it('a target refused for its rate limit: progress carries the throttled state and time, the report ms and share per connection', async () => {
    const { loaded, wired } = await setup('throttled');
    const limiter = wired.targetEndpoint.limiter;
    let writes = 0;
    // The system answers its first 3 requests with a rate-limit refusal (as HttpClient tells the limiter), then takes them.
    const target: Target = {
      write: (payload, ctx) => {
        if (writes++ < 3) limiter.observe?.({ rateLimited: true, startedAt: Date.now() });
        return wired.target.write(payload, ctx);
      },
    };
    const events: Progress[] = [];
    const report = await runLoadedScheme(loaded, new SqliteStateStore(tempDir()), { wired: { ...wired, target }, onProgress: (p) => events.push(structuredClone(p)) });
    expect(report).toMatchObject({ status: 'succeeded', counts: { inserted: 40 } });

    const [source, sink] = report.throttling!;
    expect(source).toMatchObject({ side: 'source', connector: 'memory', throttledMs: 0, share: 0, rateLimitedAnswers: 0, throttled: false });
    expect(sink).toMatchObject({ side: 'target', connector: 'memory', rateLimitedAnswers: 3, limitPerSecond: 50, throttled: false });
    expect(sink!.throttledMs).toBeGreaterThan(500); // the adaptive limiter pauses ~1 s on a refusal
    expect(sink!.throttledMs).toBeLessThanOrEqual(report.durationMs);
    expect(sink!.share).toBeCloseTo(sink!.throttledMs / report.durationMs, 2);
    expect(sink!.ratePerSecond).toBeLessThan(50);

    // progress: every event carries both connections; some say the target is held back right now, with the time so far
    expect(events.every((e) => e.throttling?.length === 2)).toBe(true);
    const during = events.filter((e) => e.throttling![1]!.throttled);
    expect(during.length).toBeGreaterThan(0);
    const times = events.map((e) => e.throttling![1]!.throttledMs);
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    expect(times[times.length - 1]).toBe(sink!.throttledMs);
    expect(events.at(-1)!.throttling![1]!.throttled).toBe(false);
  });

  it('a run with no rate limit answer: zero throttled time for both connections', async () => {
    const { loaded, wired } = await setup('unthrottled');
    const report = await runLoadedScheme(loaded, new SqliteStateStore(tempDir()), { wired });
    expect(report.throttling).toEqual([
      expect.objectContaining({ side: 'source', throttledMs: 0, share: 0, rateLimitedAnswers: 0 }),
      expect.objectContaining({ side: 'target', throttledMs: 0, share: 0, rateLimitedAnswers: 0, limitPerSecond: 50 }),
    ]);
  });
});
