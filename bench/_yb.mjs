import { startSimulators, runQiao, schemeEnv } from './lib.mjs';
import { parseJson } from '@qiao/core';
import http from 'node:http';
// capture YonBIP answers through a proxy-less trick: run qiao on 20 customers, then save one more by hand
const sims = await startSimulators({ customers: 20 });
await runQiao(schemeEnv(sims));
const m = sims.yonbip.merchants()[0];
const { stringifyJson } = await import('@qiao/core');
const text = stringifyJson({ code: '200', message: '操作成功', data: m });
console.log(text.length, text.slice(0, 600));
const N = 20000;
let t0 = performance.now(); for (let i = 0; i < N; i++) parseJson(text); console.log('parseJson', ((performance.now() - t0) * 1000 / N).toFixed(2), 'us');
t0 = performance.now(); for (let i = 0; i < N; i++) JSON.parse(text); console.log('JSON.parse', ((performance.now() - t0) * 1000 / N).toFixed(2), 'us');
await sims.stop();
