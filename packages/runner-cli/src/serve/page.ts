/**
 * The run overview page (运行概况) of `qiao serve`: one self-contained HTML document (no CDN, no build
 * step). It reads /api/overview, listens to /api/events for live progress, and posts actions.
 */
export const PAGE_HTML = /* html */ `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qiao 运行概况 · Run overview</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --dim:#6b7385; --line:#e3e6ec; --ok:#1f9d55; --warn:#c98a04; --bad:#d64545; --run:#2f6fdf; }
  * { box-sizing: border-box; }
  body { margin:0; font: 14px/1.45 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; align-items:baseline; gap:12px; padding:14px 24px; background:#1d2330; color:#fff; }
  header h1 { margin:0; font-size:18px; font-weight:600; }
  header .sub { color:#aab2c5; font-size:13px; }
  header .live { margin-left:auto; font-size:12px; color:#aab2c5; }
  header .live.on::before { content:"●"; color:#3ddc84; margin-right:4px; }
  main { padding:20px 24px; display:grid; gap:16px; max-width:1200px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px 18px; }
  .head { display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
  .head h2 { margin:0; font-size:16px; }
  .id { color:var(--dim); font-family: ui-monospace, monospace; font-size:12px; }
  .badge { font-size:12px; padding:2px 8px; border-radius:10px; color:#fff; background:var(--dim); }
  .badge.succeeded { background:var(--ok); } .badge.partial { background:var(--warn); } .badge.failed { background:var(--bad); }
  .badge.running { background:var(--run); } .badge.invalid { background:var(--bad); }
  .actions { margin-left:auto; display:flex; gap:8px; }
  button { font:inherit; border:1px solid var(--line); background:#fff; border-radius:6px; padding:5px 12px; cursor:pointer; }
  button.primary { background:var(--run); border-color:var(--run); color:#fff; }
  button:disabled { opacity:.5; cursor:default; }
  .meta { color:var(--dim); font-size:12px; margin-top:4px; }
  .grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(110px, 1fr)); gap:8px; margin-top:12px; }
  .stat { border:1px solid var(--line); border-radius:6px; padding:6px 10px; }
  .stat b { display:block; font-size:18px; }
  .stat span { color:var(--dim); font-size:12px; }
  .row { display:grid; grid-template-columns: 1fr 1fr; gap:16px; margin-top:14px; }
  @media (max-width: 800px) { .row { grid-template-columns: 1fr; } }
  h3 { font-size:13px; margin:0 0 6px; color:var(--dim); font-weight:600; }
  .bar { height:8px; background:var(--line); border-radius:4px; overflow:hidden; margin-top:8px; }
  .bar > i { display:block; height:100%; background:var(--run); width:0; transition: width .2s; }
  .progress { margin-top:10px; font-size:12px; color:var(--run); }
  .dead-group { border-left:3px solid var(--bad); padding:6px 10px; margin-bottom:8px; background:#fdf5f5; border-radius:0 6px 6px 0; }
  .dead-group .msg { font-size:12px; color:var(--ink); word-break:break-all; }
  .dead-group .diag { font-size:12px; color:var(--dim); margin-top:2px; }
  .dead-group button { margin-top:6px; font-size:12px; padding:3px 10px; }
  .error { white-space:pre-wrap; font-family: ui-monospace, monospace; font-size:12px; color:var(--bad); background:#fdf5f5; padding:8px; border-radius:6px; margin-top:10px; }
  .empty { color:var(--dim); font-size:12px; }
  svg.chart { width:100%; height:64px; display:block; }
  .toast { position:fixed; bottom:16px; right:16px; background:#1d2330; color:#fff; padding:8px 14px; border-radius:6px; opacity:0; transition:opacity .3s; }
  .toast.show { opacity:1; }
</style>
</head>
<body>
<header><h1>qiao 桥 · 运行概况</h1><span class="sub">Run overview</span><span class="live" id="live">connecting…</span></header>
<main id="schemes"><div class="empty">Loading…</div></main>
<div class="toast" id="toast"></div>
<script>
(() => {
  const h = location.hash.slice(1);
  if (h.startsWith('token=')) { sessionStorage.setItem('qiao-token', decodeURIComponent(h.slice(6))); history.replaceState(null, '', location.pathname); }
  const token = sessionStorage.getItem('qiao-token') || '';
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  const $ = (s, el = document) => el.querySelector(s);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const pct = (v) => v == null ? '–' : (v * 100).toFixed(1) + '%';
  const time = (iso) => iso ? new Date(iso).toLocaleString() : '–';
  const dur = (ms) => ms == null ? '–' : ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s';
  let state = { schemes: [] };
  const progress = new Map();

  function toast(text) { const t = $('#toast'); t.textContent = text; t.classList.add('show'); setTimeout(() => t.classList.remove('show'), 2500); }

  function chart(runs) {
    const rs = (runs || []).slice(0, 20).reverse();
    if (!rs.length) return '<div class="empty">No runs yet</div>';
    const w = 100 / 20;
    const bars = rs.map((r, i) => {
      const c = r.counts, all = c.inserted + c.updated + c.skipped + c.failed;
      const rate = all ? (c.inserted + c.updated + c.skipped) / all : (r.status === 'failed' ? 0 : 1);
      const hgt = Math.max(4, rate * 56);
      const col = r.status === 'succeeded' ? 'var(--ok)' : r.status === 'partial' ? 'var(--warn)' : r.status === 'running' ? 'var(--run)' : 'var(--bad)';
      return '<rect x="' + (i * w + w * 0.15) + '%" y="' + (60 - hgt) + '" width="' + (w * 0.7) + '%" height="' + hgt + '" fill="' + col + '"><title>' + esc(time(r.startedAt)) + ': ' + esc(r.status) + ', ' + pct(rate) + ' delivered</title></rect>';
    }).join('');
    return '<svg class="chart" role="img" aria-label="success rate per run">' + bars + '<line x1="0" x2="100%" y1="60" y2="60" stroke="#e3e6ec"/></svg>';
  }

  function card(s) {
    const p = progress.get(s.id) || s.progress;
    const status = !s.valid ? 'invalid' : s.running ? 'running' : (s.status || 'never-run');
    const last = s.lastRun;
    const c = (p && s.running) ? p : (last ? last.counts : { read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 });
    const q = s.queue || { pending: 0, 'in-flight': 0, done: 0, dead: 0 };
    let html = '<section class="card" data-scheme="' + esc(s.id) + '" id="' + esc(s.id) + '">';
    html += '<div class="head"><h2>' + esc(s.name || s.id) + '</h2><span class="id">' + esc(s.id) + '</span><span class="badge ' + esc(status) + '" data-role="status">' + esc(status) + '</span>';
    html += '<div class="actions"><button class="primary run-now" data-action="run" ' + (!s.valid || s.running ? 'disabled' : '') + '>立即运行 Run now</button></div></div>';
    html += '<div class="meta">' + esc(s.file) + (s.schedule ? ' · cron ' + esc(s.schedule) + ' · next ' + esc(time(s.nextRunAt)) : ' · no schedule') + '</div>';
    if (!s.valid) return html + '<div class="error">' + esc(s.error) + '</div></section>';
    html += '<div class="grid counts">' +
      ['read', 'inserted', 'updated', 'skipped', 'failed'].map((k) => '<div class="stat"><b data-count="' + k + '">' + esc(c[k] ?? 0) + '</b><span>' + ({ read: '读取 read', inserted: '新增 inserted', updated: '更新 updated', skipped: '跳过 skipped', failed: '失败 failed' })[k] + '</span></div>').join('') +
      '<div class="stat"><b data-queue="pending">' + esc(q.pending + q['in-flight']) + '</b><span>队列 queued</span></div>' +
      '<div class="stat"><b data-queue="dead">' + esc(q.dead) + '</b><span>死信 dead letters</span></div></div>';
    if (s.running && p) {
      const total = p.total || 0, done = p.inserted + p.updated + p.skipped + p.failed;
      html += '<div class="progress" data-role="progress">运行中 running · ' + done + (total ? ' / ' + total : '') + ' · ' + Math.round(p.ratePerSecond) + '/s' + (p.etaMs != null ? ' · ETA ' + dur(Math.round(p.etaMs)) : '') + '</div>';
      html += '<div class="bar"><i style="width:' + (total ? Math.min(100, done / total * 100) : 5) + '%"></i></div>';
    }
    html += '<div class="meta">last run ' + esc(last ? time(last.startedAt) + ' · ' + last.status + ' · ' + dur(last.durationMs) : '–') + ' · runs succeeded ' + pct(s.successRate) + ' · records delivered ' + pct(s.recordSuccessRate) + ' · cursor ' + esc(s.cursor || '–') + '</div>';
    html += '<div class="row"><div><h3>成功率 Success rate (last runs)</h3>' + chart(s.runs) + '</div><div><h3>死信 Dead letters by error</h3>';
    if (!s.deadLetters || !s.deadLetters.length) html += '<div class="empty">None</div>';
    for (const d of s.deadLetters || []) {
      html += '<div class="dead-group" data-code="' + esc(d.code) + '"><div class="msg"><b>' + esc(d.count) + ' × ' + esc(d.code) + '</b> ' + esc(d.message) + '</div>' + (d.diagnosis ? '<div class="diag">→ ' + esc(d.diagnosis) + '</div>' : '') + '<button class="requeue" data-action="requeue" data-code="' + esc(d.code) + '" ' + (s.running ? 'disabled' : '') + '>重新排队 Re-queue &amp; deliver</button></div>';
    }
    for (const r of s.recentProblems || []) {
      html += '<div class="meta">' + esc(r.count) + ' × ' + esc(r.code) + ': ' + esc(r.message) + (r.diagnosis ? ' → ' + esc(r.diagnosis) : '') + '</div>';
    }
    html += '</div></div></section>';
    return html;
  }

  function render() {
    const main = $('#schemes');
    if (!state.schemes.length) { main.innerHTML = '<div class="empty">No scheme files in the folder.</div>'; return; }
    main.innerHTML = state.schemes.map(card).join('');
  }

  let loading = null, again = false;
  async function load() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      try {
        const res = await fetch('/api/overview', { headers });
        if (res.status === 401) { $('#schemes').innerHTML = '<div class="error">This server needs a token: open it as /#token=…</div>'; return; }
        state = await res.json();
        for (const s of state.schemes) if (!s.running) progress.delete(s.id);
        render();
      } finally { loading = null; if (again) { again = false; load(); } }
    })();
    return loading;
  }

  document.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    const id = b.closest('[data-scheme]').dataset.scheme;
    b.disabled = true;
    const action = b.dataset.action;
    const res = await fetch('/api/schemes/' + encodeURIComponent(id) + '/' + action, {
      method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'x-qiao-action': '1' },
      body: JSON.stringify(action === 'requeue' ? { code: b.dataset.code } : {}),
    });
    const body = await res.json().catch(() => ({}));
    toast(res.ok ? (action === 'run' ? 'Run started' : 'Re-queued ' + body.requeued + (body.started ? ', delivering' : '')) : (body.error || 'HTTP ' + res.status));
    load();
  });

  function connect() {
    const es = new EventSource('/api/events' + (token ? '?token=' + encodeURIComponent(token) : ''));
    const live = $('#live');
    es.onopen = () => { live.textContent = 'live'; live.classList.add('on'); };
    es.onerror = () => { live.textContent = 'reconnecting…'; live.classList.remove('on'); };
    es.addEventListener('progress', (e) => {
      const { scheme, progress: p } = JSON.parse(e.data);
      progress.set(scheme, p);
      const s = state.schemes.find((x) => x.id === scheme);
      if (s) { s.running = true; render(); }
    });
    es.addEventListener('run', () => load());
    es.addEventListener('schemes', () => load());
  }

  load().then(connect);
  setInterval(load, 30000);
})();
</script>
</body>
</html>
`;
