import { runQiao, schemeEnv, startSimulatorsApart } from './lib.mjs';
const { handwritten } = await import('./_hwlib.mjs');
const kind = process.argv[2];
const sims = await startSimulatorsApart({ customers: 2000 });
if (kind === 'qiao') await runQiao(schemeEnv(sims)); else await handwritten(sims, 8);
await sims.stop();
