import { startSimulators } from './lib.mjs';
import { normalizeCompany } from '../packages/connector-okki/dist/transport/normalize.js';
const sims = await startSimulators({ customers: 200 });
const tok = await (await fetch(sims.okki.url + '/v1/oauth2/access_token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: sims.okki.credentials.clientId, client_secret: sims.okki.credentials.clientSecret, scope:'company' }) })).json();
const list = JSON.parse(await (await fetch(sims.okki.url + '/v1/company/list?start_index=1&count=100&all=1', { headers: { Authorization: tok.access_token } })).text()).data.list;
const infos = [];
for (const row of list) infos.push(await (await fetch(sims.okki.url + '/v1/company/info?company_id=' + row.company_id, { headers: { Authorization: tok.access_token } })).text());
await sims.stop();
const N = 20;
let t0 = performance.now();
for (let k = 0; k < N; k++) for (const t of infos) JSON.parse(t);
console.log('JSON.parse', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
const parsed = infos.map((t) => JSON.parse(t).data);
t0 = performance.now();
for (let k = 0; k < N; k++) for (let i = 0; i < parsed.length; i++) ({ ...list[i], ...parsed[i] });
console.log('spread', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
t0 = performance.now();
for (let k = 0; k < N; k++) for (let i = 0; i < parsed.length; i++) normalizeCompany({ ...list[i], ...parsed[i] });
console.log('spread+normalize', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
t0 = performance.now();
for (let k = 0; k < N; k++) for (let i = 0; i < parsed.length; i++) Object.assign({}, list[i], parsed[i]);
console.log('assign', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
t0 = performance.now();
for (let k = 0; k < N; k++) for (let i = 0; i < parsed.length; i++) { const o = {}; const a = list[i], b = parsed[i]; for (const x in a) o[x] = a[x]; for (const x in b) o[x] = b[x]; }
console.log('forin', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
t0 = performance.now();
for (let k = 0; k < N; k++) for (let i = 0; i < parsed.length; i++) { const o = {...parsed[i]}; }
console.log('spread detail only', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
t0 = performance.now();
for (let k = 0; k < N; k++) for (let i = 0; i < parsed.length; i++) { const o = {...list[i]}; }
console.log('spread row only', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
t0 = performance.now();
for (let k = 0; k < N; k++) for (let i = 0; i < parsed.length; i++) normalizeCompany(parsed[i]);
console.log('normalize detail only', ((performance.now() - t0) * 1000 / (N * infos.length)).toFixed(1), 'us');
