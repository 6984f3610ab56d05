import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { runQiao, schemeEnv, startSimulatorsApart } from './lib.mjs';
const s = new Session(); s.connect();
for (let i = 0; i < 2; i++) { const sims = await startSimulatorsApart({ customers: 2000 }); await runQiao(schemeEnv(sims)); await sims.stop(); }
await s.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
for (let i = 0; i < 3; i++) { const sims = await startSimulatorsApart({ customers: 2000 }); await runQiao(schemeEnv(sims)); await sims.stop(); }
const { profile } = await s.post('HeapProfiler.stopSampling');
const self = new Map(); let total = 0;
const short = (u) => (u || '').replace(/.*node_modules\//, 'npm:').replace(/.*packages\//, '');
const walk = (n, stack) => {
  const cf = n.callFrame; const k = `${cf.functionName || '(anon)'} ${short(cf.url)}:${cf.lineNumber}`;
  const sz = n.selfSize; total += sz; self.set(k, (self.get(k) ?? 0) + sz);
  for (const c of n.children) walk(c);
};
walk(profile.head);
console.log('total MB per run', (total / 3 / 2 ** 20).toFixed(0));
console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 45).map(([k, v]) => `${(v / 3 / 2 ** 20).toFixed(1).padStart(6)}MB ${k}`).join('\n'));
