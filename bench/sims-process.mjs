// The simulators in a process of their own, driven over IPC by bench/lib.mjs `startSimulatorsApart`:
// real OKKI and YonBIP are remote systems, so a client measured against them should not share its
// event loop with them. Messages: { start: options } → { okki, yonbip } (urls and credentials);
// { counters: true } → { okki, yonbip } counters; { merchants: true } → YonBIP's customers; { stop: true }.
import { startSimulators } from './lib.mjs';

let sims;
process.on('message', async (m) => {
  try {
    if (m.start) {
      sims = await startSimulators(m.start);
      process.send({
        okki: { url: sims.okki.url, credentials: sims.okki.credentials },
        yonbip: { dataCenterUrl: sims.yonbip.dataCenterUrl, credentials: sims.yonbip.credentials },
      });
    } else if (m.counters) {
      const cpu = process.cpuUsage();
      process.send({ okki: { ...sims.okki.counters }, yonbip: { ...sims.yonbip.counters }, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (m.merchants) {
      process.send({ merchants: sims.yonbip.merchants() });
    } else if (m.stop) {
      await sims?.stop();
      process.send({ stopped: true });
      process.disconnect();
    }
  } catch (e) {
    process.send({ error: String(e?.stack ?? e) });
  }
});
