import { runQiao, schemeEnv, startSimulatorsApart } from './lib.mjs';
const N = 2000; const walls = [], cpus = [];
for (let i = 0; i < Number(process.env.RUNS ?? 8); i++) {
  const sims = await startSimulatorsApart({ customers: N });
  const t0 = performance.now(); const c0 = process.cpuUsage();
  await runQiao(schemeEnv(sims, { okkiConcurrency: 8, bipConcurrency: 8 }));
  const c = process.cpuUsage(c0);
  if (i >= 2) { walls.push(performance.now() - t0); cpus.push((c.user + c.system) / 1000); }
  await sims.stop();
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log('qiao median wall', med(walls).toFixed(0), 'cpu', med(cpus).toFixed(0));
