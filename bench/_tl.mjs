import { runQiao, schemeEnv, startSimulatorsApart } from './lib.mjs';
for (let i = 0; i < 3; i++) {
  const sims = await startSimulatorsApart({ customers: 2000 });
  const t0 = performance.now();
  const tl = [];
  let done = false;
  const poll = (async () => { while (!done) { const c = await sims.counters(); tl.push([Math.round(performance.now() - t0), c.okki.info, c.yonbip.save]); await new Promise((r) => setTimeout(r, 50)); } })();
  await runQiao(schemeEnv(sims, { okkiConcurrency: 8, bipConcurrency: 8 }));
  done = true; await poll;
  console.log(Math.round(performance.now() - t0), tl.filter((_, j) => j % 3 === 0).map((x) => x.join('/')).join(' '));
  await sims.stop();
}
