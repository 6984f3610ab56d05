import { describe, expect, it } from 'vitest';
import type { RunReport } from '@qiao/core';
import { renderReport } from '../src/lib/render-report.js';

const base: RunReport = {
  scheme: 's',
  runId: 'r1',
  status: 'succeeded',
  counts: { read: 60, inserted: 60, updated: 0, skipped: 0, failed: 0 },
  startedAt: '2026-12-05T08:00:00.000Z',
  finishedAt: '2026-12-05T08:00:40.000Z',
  durationMs: 40_000,
  errors: [],
};

describe('renderReport: throttled time', () => {
  it('names each connection its system throttled, with the time held back and its share of the run', () => {
    const text = renderReport({
      ...base,
      throttling: [
        { side: 'source', connector: 'okki', throttledMs: 0, share: 0, rateLimitedAnswers: 0, ratePerSecond: 10, limitPerSecond: 10, throttled: false },
        { side: 'target', connector: 'yonbip', throttledMs: 25_300, share: 0.633, rateLimitedAnswers: 17, ratePerSecond: 3.94, limitPerSecond: 10, throttled: false },
      ],
    });
    expect(text).toMatch(/throttled: yonbip \(target\) held back 25\.3 s, 63% of the run, by its rate limit · 17 rate-limit answers · ended at 3\.9\/s of 10\/s/);
    expect(text).toMatch(/→ .*set limits\.requestsPerMinute: 236 on the target connection/);
    expect(text).not.toMatch(/okki/);
  });

  it('says nothing of throttling when no connection was throttled, or the report predates it', () => {
    expect(renderReport(base)).not.toMatch(/throttled/);
    const quiet = renderReport({ ...base, throttling: [{ side: 'target', connector: 'yonbip', throttledMs: 0, share: 0, rateLimitedAnswers: 0, throttled: false }] });
    expect(quiet).not.toMatch(/throttled/);
  });
});
