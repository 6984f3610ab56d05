import { runQiao, schemeEnv, startSimulatorsApart } from './lib.mjs';
const { handwritten } = await import('./_hwlib.mjs');
for (let i = 0; i < 4; i++) {
  for (const kind of ['qiao', 'hand']) {
    const sims = await startSimulatorsApart({ customers: 2000 });
    const s0 = (await sims.counters()).cpuMs;
    const t0 = performance.now(); const c0 = process.cpuUsage();
    if (kind === 'qiao') await runQiao(schemeEnv(sims)); else await handwritten(sims, 8);
    const c = process.cpuUsage(c0);
    const s1 = (await sims.counters()).cpuMs;
    console.log(kind, 'wall', (performance.now() - t0).toFixed(0), 'client cpu', ((c.user + c.system) / 1000).toFixed(0), 'sims cpu', (s1 - s0).toFixed(0));
    await sims.stop();
  }
}
