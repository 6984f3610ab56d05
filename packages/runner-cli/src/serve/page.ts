/**
 * The page of `qiao serve` (运行概况): an overview table of every scheme, a page per scheme (run
 * timeline, records chart drawn with chart.js, fatal errors, dead letters per customer with re-queue,
 * run history) and a page per run. One HTML document with its script at /assets/app.js and chart.js at
 * /assets/chart.umd.js, both served by qiao: nothing is fetched from elsewhere. Routes live in the hash
 * (`#/`, `#/s/<scheme>`, `#/r/<runId>`; `#<scheme>`, as alerts link it, opens the scheme).
 */
export const PAGE_HTML = /* html */ `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qiao 运行概况 · Run overview</title>
<style>
  :root { --bg:#f4f5f8; --card:#fff; --ink:#1d2330; --dim:#667085; --line:#e3e6ec; --ok:#1f9d55; --warn:#c98a04; --bad:#d64545; --run:#2f6fdf; --stop:#6b7280; --track:#eef0f4; }
  * { box-sizing: border-box; }
  body { margin:0; font: 14px/1.45 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; background:var(--bg); color:var(--ink); }
  a { color:var(--run); text-decoration:none; } a:hover { text-decoration:underline; }
  header { display:flex; align-items:baseline; gap:12px; padding:12px 24px; background:#1d2330; color:#fff; flex-wrap:wrap; }
  header h1 { margin:0; font-size:18px; font-weight:600; } header h1 a { color:#fff; }
  header .sub { color:#aab2c5; font-size:13px; }
  header .right { margin-left:auto; display:flex; gap:14px; font-size:12px; color:#aab2c5; }
  header .live.on::before { content:"●"; color:#3ddc84; margin-right:4px; }
  main { padding:16px 24px 40px; }
  .toolbar { display:flex; gap:8px; align-items:center; flex-wrap:wrap; margin-bottom:12px; }
  .chip { font:inherit; font-size:12px; border:1px solid var(--line); background:#fff; border-radius:14px; padding:3px 10px; cursor:pointer; color:var(--ink); }
  .chip[aria-pressed="true"] { background:#1d2330; border-color:#1d2330; color:#fff; }
  .chip .n { color:var(--dim); margin-left:4px; } .chip[aria-pressed="true"] .n { color:#aab2c5; }
  input.search { font:inherit; font-size:13px; padding:4px 10px; border:1px solid var(--line); border-radius:6px; min-width:200px; margin-left:auto; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin-bottom:14px; }
  table { border-collapse:collapse; width:100%; }
  table.grid { background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
  .grid th, .grid td { text-align:left; padding:6px 9px; border-bottom:1px solid var(--line); vertical-align:middle; }
  .grid th { font-size:12px; color:var(--dim); font-weight:600; background:#fafbfc; white-space:nowrap; }
  .schemes th { white-space:normal; line-height:1.25; vertical-align:bottom; }
  .schemes th .zh { display:block; font-weight:400; }
  .schemes .status .clip { max-width:130px; }
  .grid th button { all:unset; cursor:pointer; } .grid th button:focus-visible { outline:2px solid var(--run); }
  .grid th[aria-sort="ascending"] button::after { content:" ▲"; font-size:10px; }
  .grid th[aria-sort="descending"] button::after { content:" ▼"; font-size:10px; }
  .grid tr:last-child td { border-bottom:0; }
  .grid tbody tr:hover { background:#f8f9fc; }
  .num { text-align:right !important; font-variant-numeric: tabular-nums; }
  .dim { color:var(--dim); font-size:12px; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
  .name a { font-weight:600; color:var(--ink); }
  .clip { max-width:220px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; display:block; }
  .nowrap { white-space:nowrap; }
  .schemes .name a { display:block; max-width:230px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  .schemes .cursor { max-width:140px; }
  .runs .name a { color:var(--run); font-weight:400; }
  .badge { display:inline-block; font-size:12px; padding:1px 8px; border-radius:10px; color:#fff; background:var(--dim); white-space:nowrap; }
  .badge.succeeded { background:var(--ok); } .badge.partial { background:var(--warn); } .badge.failed { background:var(--bad); }
  .badge.running { background:var(--run); } .badge.cancelled { background:#fff; color:var(--stop); border:1px solid var(--stop); }
  .badge.cancelled::before { content:"■ "; font-size:9px; vertical-align:1px; }
  .badge.never-run { background:#fff; color:var(--dim); border:1px dashed var(--dim); } .badge.invalid { background:#fff; color:var(--bad); border:1px solid var(--bad); }
  .rate { display:flex; align-items:center; gap:6px; } .rate i { display:block; width:48px; height:6px; background:var(--track); border-radius:3px; overflow:hidden; }
  .rate i b { display:block; height:100%; background:var(--ok); }
  .warnv { color:var(--warn); font-weight:600; } .badv { color:var(--bad); font-weight:600; }
  button.act { font:inherit; font-size:12px; border:1px solid var(--line); background:#fff; border-radius:6px; padding:3px 10px; cursor:pointer; white-space:nowrap; }
  button.primary { background:var(--run); border-color:var(--run); color:#fff; }
  button:disabled { opacity:.5; cursor:default; }
  .head { display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
  .head h2 { margin:0; font-size:18px; } .head .actions { margin-left:auto; display:flex; gap:8px; }
  h3 { font-size:14px; margin:0 0 8px; } h3 .dim { font-weight:400; }
  .stats { display:grid; grid-template-columns: repeat(auto-fit, minmax(118px, 1fr)); gap:8px; margin-top:12px; }
  .stat { border:1px solid var(--line); border-radius:6px; padding:6px 10px; min-width:0; }
  .stat > b { display:block; font-size:18px; font-variant-numeric: tabular-nums; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  .stat > span { color:var(--dim); font-size:12px; }
  .stat .thr { font-size:13px; min-height:27px; }
  .two { display:grid; grid-template-columns: 1fr 1fr; gap:14px; }
  .two > .card { min-width:0; }
  .chartbox { position:relative; height:220px; }
  svg.timeline { display:block; width:100%; height:220px; overflow:visible; }
  svg.timeline text { font-size:11px; fill:var(--dim); }
  .legend { display:flex; gap:12px; flex-wrap:wrap; font-size:12px; color:var(--dim); margin-top:6px; }
  .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
  .bar { height:8px; background:var(--track); border-radius:4px; overflow:hidden; margin-top:6px; }
  .bar > i { display:block; height:100%; background:var(--run); }
  .progress { margin-top:10px; font-size:12px; color:var(--run); }
  .fatal { border-left:4px solid var(--bad); background:#fdf4f4; padding:8px 12px; border-radius:0 6px 6px 0; margin-bottom:8px; }
  .fatal .msg { font-family: ui-monospace, monospace; font-size:12px; word-break:break-word; }
  .hint { color:#475467; font-size:12px; margin-top:2px; }
  .error { white-space:pre-wrap; font-family: ui-monospace, monospace; font-size:12px; color:var(--bad); background:#fdf4f4; padding:8px; border-radius:6px; }
  .empty { color:var(--dim); font-size:13px; padding:6px 0; }
  .msgcell { max-width:380px; word-break:break-word; }
  .crumbs { margin-bottom:10px; font-size:13px; }
  .toast { position:fixed; bottom:16px; right:16px; background:#1d2330; color:#fff; padding:8px 14px; border-radius:6px; opacity:0; transition:opacity .3s; pointer-events:none; }
  .toast.show { opacity:1; }
  @media (max-width: 1100px) { .two { grid-template-columns: 1fr; } }
  /* phone: every table row becomes a card of label/value lines */
  @media (max-width: 760px) {
    header { padding:10px 14px; } header .right { margin-left:0; width:100%; }
    main { padding:12px 10px 30px; }
    input.search { margin-left:0; min-width:0; width:100%; }
    table.grid, .grid tbody, .grid tr, .grid td { display:block; width:100%; }
    table.grid { border:0; background:none; }
    .grid thead { display:none; }
    .grid tr { background:var(--card); border:1px solid var(--line); border-radius:8px; margin-bottom:10px; padding:8px 12px; display:grid !important; grid-template-columns: 1fr 1fr; column-gap:14px; row-gap:6px; }
    .grid td { border:0; padding:0; text-align:left !important; min-width:0; width:auto; }
    .grid td::before { content: attr(data-label); display:block; color:var(--dim); font-size:11px; text-transform:uppercase; letter-spacing:.02em; }
    .grid td.name, .grid td.wide { grid-column: 1 / -1; }
    .grid td.name { font-size:15px; border-bottom:1px solid var(--line); padding-bottom:6px; }
    .grid td.name::before, .grid td.act::before { content:none; }
    .grid td.act { grid-column: 1 / -1; }
    .schemes td.blank { display:none; }
    .grid td.act button { width:100%; padding:6px; }
    .rate { justify-content:flex-start; }
    .schemes .name a { max-width:none; white-space:normal; } .clip { max-width:100%; } .msgcell { max-width:none; }
    .stats { grid-template-columns: repeat(2, 1fr); }
  }
</style>
</head>
<body>
<header><h1><a href="#/">qiao 桥 · 运行概况</a></h1><span class="sub">Run overview</span><span class="right"><span id="tz"></span><span class="live" id="live">connecting…</span></span></header>
<main id="view"><div class="empty">Loading…</div></main>
<div class="toast" id="toast" role="status"></div>
<script src="/assets/chart.umd.js"></script>
<script src="/assets/app.js"></script>
</body>
</html>
`;

/** The page's script (plain browser JavaScript, no build step). */
export const PAGE_SCRIPT = String.raw`(() => {
  'use strict';
  const h0 = location.hash.slice(1);
  if (h0.startsWith('token=')) { sessionStorage.setItem('qiao-token', decodeURIComponent(h0.slice(6))); history.replaceState(null, '', location.pathname + '#/'); }
  const token = sessionStorage.getItem('qiao-token') || '';
  const auth = token ? { authorization: 'Bearer ' + token } : {};
  const $ = (s, el) => (el || document).querySelector(s);
  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const pct = (v) => v == null ? '–' : (v * 100).toFixed(v === 1 || v === 0 ? 0 : 1) + '%';
  const pad = (n) => String(n).padStart(2, '0');
  const off = -new Date().getTimezoneOffset();
  const tzLabel = 'UTC' + (off >= 0 ? '+' : '-') + pad(Math.floor(Math.abs(off) / 60)) + ':' + pad(Math.abs(off) % 60);
  let tzName = ''; try { tzName = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { /* older browsers */ }
  $('#tz').textContent = 'times in ' + (tzName ? tzName + ' ' : '') + '(' + tzLabel + ')';
  const day = (d) => d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  const hm = (d) => pad(d.getHours()) + ':' + pad(d.getMinutes());
  const time = (iso) => { if (!iso) return '–'; const d = new Date(iso); return day(d) + ' ' + hm(d) + ':' + pad(d.getSeconds()); };
  // HH:MM under each run, HH:MM:SS when two runs started in the same minute
  const clock = (rs) => { const l = rs.map((r) => hm(new Date(r.startedAt))); return new Set(l).size === l.length ? l : rs.map((r) => { const d = new Date(r.startedAt); return hm(d) + ':' + pad(d.getSeconds()); }); };
  const short = (iso) => { if (!iso) return '–'; const d = new Date(iso); return (day(d) === day(new Date()) ? '' : pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ') + hm(d); };
  const ago = (iso) => {
    if (!iso) return '';
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000), a = Math.abs(s);
    const t = a < 60 ? a + ' s' : a < 3600 ? Math.round(a / 60) + ' min' : a < 172800 ? Math.round(a / 3600) + ' h' : Math.round(a / 86400) + ' d';
    return s >= 0 ? t + ' ago' : 'in ' + t;
  };
  const dur = (ms) => ms == null ? '–' : ms < 1000 ? '<1 s' : ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : ms < 3600000 ? Math.floor(ms / 60000) + ' min ' + Math.round(ms % 60000 / 1000) + ' s' : (ms / 3600000).toFixed(1) + ' h';
  const runMs = (r) => r.status === 'running' ? Date.now() - Date.parse(r.startedAt) : r.durationMs;
  const STATUS = { running: '运行中 running', succeeded: '成功 succeeded', partial: '部分失败 partial', failed: '失败 failed', cancelled: '已取消 cancelled', 'never-run': '未运行 never run', invalid: '无效 invalid' };
  const ORDER = ['running', 'failed', 'partial', 'invalid', 'cancelled', 'never-run', 'succeeded'];
  const COLOR = { succeeded: '#1f9d55', partial: '#c98a04', failed: '#d64545', running: '#2f6fdf', cancelled: '#9aa1ad' };
  const badge = (s, role) => '<span class="badge ' + esc(s) + '"' + (role ? ' data-role="' + role + '"' : '') + ' data-status="' + esc(s) + '">' + esc(STATUS[s] || s) + '</span>';
  // of the records a run read (or settled from an earlier queue), the share it delivered: a run stopped half-way is not 100%
  const delivered = (c) => { const all = Math.max(c.read, c.inserted + c.updated + c.skipped + c.failed); return all ? (c.inserted + c.updated + c.skipped) / all : null; };

  // problems first: running, failed, partial, invalid, cancelled, never run, succeeded
  const ui = { sort: { key: 'status', dir: 1 }, filter: 'all', search: '', runFilter: 'all' };
  let data = { schemes: [] };
  let route = { view: 'overview' };
  const progress = new Map();
  let chart = null;

  function toast(text) { const t = $('#toast'); t.textContent = text; t.classList.add('show'); clearTimeout(toast.t); toast.t = setTimeout(() => t.classList.remove('show'), 3000); }
  async function get(path) {
    const res = await fetch(path, { headers: auth });
    if (res.status === 401) throw new Error('This server needs a token: open it as /#token=…');
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
    return body;
  }

  // ---- overview table ----
  const throttleSum = (t) => t ? t.source.rateLimitedAnswers + t.target.rateLimitedAnswers : -1;
  const COLS = [
    { key: 'name', label: '方案 Scheme', val: (s) => (s.name || s.id).toLowerCase() },
    { key: 'status', label: '状态 Status', val: (s) => ORDER.indexOf(s.status) },
    { key: 'last', label: '上次运行 Last run', val: (s) => s.lastRun ? Date.parse(s.lastRun.startedAt) : 0 },
    { key: 'next', label: '下次运行 Next run', val: (s) => s.nextRunAt ? Date.parse(s.nextRunAt) : Infinity },
    { key: 'success', label: '成功率 Success', num: true, val: (s) => s.successRate == null ? -1 : s.successRate },
    { key: 'queue', label: '队列 Queue', num: true, val: (s) => s.queued },
    { key: 'dead', label: '死信 Dead letters', num: true, val: (s) => s.dead },
    { key: 'cursor', label: '游标 Cursor', val: (s) => s.cursor || '' },
    { key: 'throttle', label: '限流 Throttling', val: throttleSum },
  ];
  function throttleCell(t, systems) {
    if (!t) return '<span class="dim" title="no run since this server started">–</span>';
    const part = (name, x) => x.rateLimitedAnswers || x.throttledMs ? esc(name) + ' <b class="warnv">' + x.rateLimitedAnswers + '× refused</b>, held ' + dur(x.throttledMs) + (x.ratePerSecond ? ', ' + x.ratePerSecond.toFixed(1) + '/s' : '') : '';
    const parts = [part(systems ? systems.source : 'source', t.source), part(systems ? systems.target : 'target', t.target)].filter(Boolean);
    return parts.length ? '<span class="dim">' + parts.join('<br>') + (t.live ? ' · now' : '') + '</span>' : '<span class="dim">none' + (t.live ? ' (now)' : '') + '</span>';
  }
  function lastRunCell(s) {
    if (s.running) {
      const p = progress.get(s.id) || s.progress;
      if (!p) return '<span data-role="elapsed">running…</span>';
      const done = p.inserted + p.updated + p.skipped + p.failed;
      return '<span data-role="elapsed">running ' + dur(p.elapsedMs) + '</span><div class="dim nowrap" data-role="progress">' + done + (p.total ? ' / ' + p.total : '') + ' records · ' + Math.round(p.ratePerSecond) + '/s</div>' + (p.total ? '<div class="bar" style="margin-top:2px;height:4px"><i style="width:' + Math.min(100, done / p.total * 100) + '%"></i></div>' : '');
    }
    if (!s.lastRun) return '<span class="dim">–</span>';
    const r = s.lastRun;
    return '<div class="nowrap"><a href="#/r/' + encodeURIComponent(r.runId) + '" title="' + esc(time(r.startedAt)) + '">' + esc(short(r.startedAt)) + '</a> <span class="dim">' + esc(ago(r.startedAt)) + '</span></div><div class="dim nowrap">' + (r.status === 'running' ? 'running ' : '') + esc(dur(runMs(r))) + ' · ' + r.counts.read + ' read' + (r.counts.failed ? ' · <span class="badv">' + r.counts.failed + ' failed</span>' : '') + '</div>';
  }
  function overviewRow(s) {
    const cells = {
      name: '<td class="name" data-label="Scheme"><a href="#/s/' + encodeURIComponent(s.id) + '" title="' + esc(s.name || s.id) + '">' + esc(s.name || s.id) + '</a><div class="dim mono clip" title="' + esc(s.file) + '">' + esc(s.id) + (s.systems ? ' · ' + esc(s.systems.source) + ' → ' + esc(s.systems.target) : '') + '</div></td>',
      status: '<td class="status" data-label="Status">' + badge(s.status, 'status') + (s.fatal && !s.running ? '<div class="dim clip badv" title="' + esc(s.fatal.message) + '">' + esc(s.fatal.code) + '</div>' : '') + (s.error ? '<div class="dim clip badv" title="' + esc(s.error) + '">see file</div>' : '') + '</td>',
      last: '<td data-label="Last run">' + lastRunCell(s) + '</td>',
      next: '<td data-label="Next run">' + (s.nextRunAt ? '<div class="nowrap" title="cron ' + esc(s.schedule) + '">' + esc(short(s.nextRunAt)) + '</div><div class="dim nowrap">' + esc(ago(s.nextRunAt)) + '</div>' : '<span class="dim">' + (s.valid ? 'no schedule' : '–') + '</span>') + '</td>',
      success: '<td class="num" data-label="Success">' + (s.successRate == null ? '<span class="dim">–</span>' : '<span class="rate"><span data-role="success">' + pct(s.successRate) + '</span><i><b style="width:' + (s.successRate * 100) + '%;background:' + (s.successRate >= 0.95 ? '#1f9d55' : s.successRate >= 0.7 ? '#c98a04' : '#d64545') + '"></b></i></span>') + (s.recordSuccessRate != null && s.recordSuccessRate !== s.successRate ? '<div class="dim nowrap" title="records delivered over the recent runs">records ' + pct(s.recordSuccessRate) + '</div>' : '') + '</td>',
      queue: '<td class="num" data-label="Queue" data-queue="pending">' + (function () { const n = s.running && s.progress ? Math.max(s.queued, s.progress.queued) : s.queued; return n ? '<b title="waiting to be written">' + n + '</b>' : '<span class="dim">0</span>'; })() + '</td>',
      dead: '<td class="num" data-label="Dead letters" data-queue="dead">' + (s.dead ? '<a class="badv" href="#/s/' + encodeURIComponent(s.id) + '">' + s.dead + '</a>' : '<span class="dim">0</span>') + '</td>',
      cursor: '<td' + (s.cursor ? '' : ' class="blank"') + ' data-label="Cursor"><span class="mono clip cursor" title="the source\'s cursor, in its own format">' + esc(s.cursor || '–') + '</span></td>',
      throttle: '<td class="wide' + (s.throttling ? '' : ' blank') + '" data-label="Throttling">' + throttleCell(s.throttling, s.systems) + '</td>',
    };
    return '<tr data-scheme="' + esc(s.id) + '" data-status="' + esc(s.status) + '">' + COLS.map((c) => cells[c.key]).join('') +
      '<td class="act" data-label=""><button class="act primary" data-action="run" data-scheme="' + esc(s.id) + '"' + (!s.valid || s.running ? ' disabled' : '') + '>运行 Run</button></td></tr>';
  }
  function renderOverview() {
    const all = data.schemes;
    const typing = document.activeElement && document.activeElement.matches('input.search');
    const counts = {};
    for (const s of all) counts[s.status] = (counts[s.status] || 0) + 1;
    const chips = ['all'].concat(ORDER.filter((k) => counts[k])).map((k) => '<button class="chip" data-filter="' + k + '" aria-pressed="' + (ui.filter === k) + '">' + esc(k === 'all' ? '全部 All' : STATUS[k]) + '<span class="n">' + (k === 'all' ? all.length : counts[k]) + '</span></button>').join('');
    const col = COLS.find((c) => c.key === ui.sort.key) || COLS[0];
    const q = ui.search.toLowerCase();
    const rows = all.filter((s) => (ui.filter === 'all' || s.status === ui.filter) && (!q || (s.id + ' ' + (s.name || '')).toLowerCase().includes(q)))
      .slice().sort((a, b) => { const x = col.val(a), y = col.val(b); return (x < y ? -1 : x > y ? 1 : a.id.localeCompare(b.id)) * ui.sort.dir; });
    const head = COLS.map((c) => '<th' + (c.num ? ' class="num"' : '') + ' data-col="' + c.key + '" aria-sort="' + (ui.sort.key === c.key ? (ui.sort.dir > 0 ? 'ascending' : 'descending') : 'none') + '"><button data-sort="' + c.key + '"><span class="zh">' + esc(c.label.split(' ')[0]) + '</span>' + esc(c.label.split(' ').slice(1).join(' ')) + '</button></th>').join('') + '<th></th>';
    $('#view').innerHTML = '<div class="toolbar" role="toolbar" aria-label="filter by status">' + chips + '<input class="search" type="search" placeholder="筛选 Filter by name or id" value="' + esc(ui.search) + '"></div>' +
      (all.length ? '<table class="grid schemes"><thead><tr>' + head + '</tr></thead><tbody>' + (rows.map(overviewRow).join('') || '<tr><td colspan="10" class="empty">No scheme with this status.</td></tr>') + '</tbody></table>' : '<div class="card empty">No scheme files in the folder.</div>') + fleetCard();
    const input = $('input.search');
    if (input && (ui.focusSearch || typing)) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
  }

  // ---- the fleet (qiao serve --redis): every worker and queue ----
  let fleet = { enabled: false, workers: [], queues: [] };
  function fleetCard() {
    if (!fleet.enabled) return '';
    if (fleet.error) return '<div class="card" id="fleet"><h3>工作进程 Workers</h3><div class="error">' + esc(fleet.error) + '</div></div>';
    const workers = fleet.workers.map((w) => '<tr><td data-label="Worker"><b>' + esc(w.host) + '</b> <span class="dim">pid ' + w.pid + (w.role === 'serve' ? ' · serves this page' : '') + '</span></td>' +
      '<td data-label="Since"><span title="' + esc(time(w.startedAt)) + '">' + esc(ago(w.startedAt)) + '</span></td>' +
      '<td data-label="Runs">' + (w.runs.length ? w.runs.map((r) => '<a href="#/s/' + encodeURIComponent(r.scheme) + '">' + esc(r.scheme) + '</a>').join(', ') : '<span class="dim">none</span>') + '</td>' +
      '<td class="num" data-label="Writing">' + (w.writing ? '<b>' + w.writing + '</b>' : '<span class="dim">0</span>') + '</td></tr>').join('');
    const queues = fleet.queues.map((q) => '<tr><td data-label="Queue">' + esc(q.name) + (q.kind === 'writes' ? ' <span class="dim">' + esc(q.schemes.join(', ')) + '</span>' : '') + '</td>' +
      ['waiting', 'active', 'delayed', 'failed'].map((k) => '<td class="num" data-label="' + k + '">' + (q[k] ? '<b' + (k === 'failed' ? ' class="badv"' : '') + '>' + q[k] + '</b>' : '<span class="dim">0</span>') + '</td>').join('') + '</tr>').join('');
    return '<div class="two" id="fleet" style="margin-top:14px"><div class="card"><h3>工作进程 Workers <span class="dim">— ' + fleet.workers.length + ' on Redis ' + esc(fleet.redis) + '</span></h3>' +
      '<table class="grid"><thead><tr><th>Worker</th><th>Since</th><th>Runs</th><th class="num">Writing</th></tr></thead><tbody>' + (workers || '<tr><td colspan="4" class="empty">No worker heard from.</td></tr>') + '</tbody></table></div>' +
      '<div class="card"><h3>队列 Queues <span class="dim">— jobs</span></h3><table class="grid"><thead><tr><th>Queue</th><th class="num">Waiting</th><th class="num">Active</th><th class="num">Delayed</th><th class="num">Failed</th></tr></thead><tbody>' + queues + '</tbody></table></div></div>';
  }

  // ---- scheme page ----
  let scheme = null;
  function timeline(runs, live) {
    const rs = runs.slice(0, 40).reverse();
    if (!rs.length) return '<div class="empty">No runs yet.</div>';
    const W = Math.max(320, ($('#timeline-box') || { clientWidth: 900 }).clientWidth || 900), H = 220, L = 58, R = 8, T = 12, B = 44;
    const pw = W - L - R, ph = H - T - B, slot = pw / rs.length, bw = Math.max(4, Math.min(30, slot * 0.7));
    let g = '';
    for (const y of [0, 0.25, 0.5, 0.75, 1]) {
      const yy = T + ph * (1 - y);
      g += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + yy + '" y2="' + yy + '" stroke="' + (y === 0 ? '#98a2b3' : '#e3e6ec') + '"/>';
      g += '<text x="' + (L - 6) + '" y="' + (yy + 4) + '" text-anchor="end">' + (y * 100) + '%</text>';
    }
    const every = Math.max(1, Math.ceil(74 / slot));
    let lastDay = '';
    const clocks = clock(rs);
    rs.forEach((r, i) => {
      const x = L + slot * i + (slot - bw) / 2, cx = L + slot * i + slot / 2, d = new Date(r.startedAt);
      const rate = r.status === 'running' ? null : (delivered(r.counts) ?? (r.status === 'failed' ? 0 : 1));
      const col = COLOR[r.status] || '#9aa1ad';
      const tip = time(r.startedAt) + ' · ' + (STATUS[r.status] || r.status) + ' · ' + (rate == null ? 'in progress' : pct(rate) + ' of records delivered') + ' · ' + r.counts.read + ' read, ' + r.counts.failed + ' failed · ' + dur(runMs(r)) + (r.fatal ? ' · fatal ' + r.fatal.code : '');
      let bar = '<rect x="' + x + '" y="' + T + '" width="' + bw + '" height="' + ph + '" fill="' + (r.status === 'failed' ? '#fbe4e4' : '#f1f3f6') + '"/>';
      if (r.status === 'running') {
        const p = live && live.progress, frac = p && p.total ? Math.min(1, (p.inserted + p.updated + p.skipped + p.failed) / p.total) : 0;
        bar += '<rect x="' + x + '" y="' + T + '" width="' + bw + '" height="' + ph + '" fill="none" stroke="' + col + '" stroke-dasharray="4 3"/>';
        if (frac) bar += '<rect x="' + x + '" y="' + (T + ph * (1 - frac)) + '" width="' + bw + '" height="' + (ph * frac) + '" fill="' + col + '" opacity=".45"/>';
        bar += '<text x="' + cx + '" y="' + (T + ph / 2) + '" text-anchor="middle" style="fill:' + col + '">…</text>';
      } else {
        const hgt = ph * rate;
        if (hgt > 0) bar += '<rect x="' + x + '" y="' + (T + ph - hgt) + '" width="' + bw + '" height="' + hgt + '" fill="' + col + '"' + (r.status === 'cancelled' ? ' fill-opacity=".55" stroke="#6b7280" stroke-dasharray="3 2"' : '') + '/>';
        // a run that delivered nothing is still a mark on the axis, with its figure
        if (rate === 0) bar += '<rect x="' + x + '" y="' + (T + ph - 3) + '" width="' + bw + '" height="3" fill="' + col + '"/><text x="' + cx + '" y="' + (T + ph - 8) + '" text-anchor="middle" style="fill:' + col + '">0%</text>';
      }
      g += '<a href="#/r/' + encodeURIComponent(r.runId) + '" data-run="' + esc(r.runId) + '" data-status="' + esc(r.status) + '"><title>' + esc(tip) + '</title>' + bar + '</a>';
      if (i % every === 0) {
        g += '<text x="' + cx + '" y="' + (H - B + 15) + '" text-anchor="middle">' + clocks[i] + '</text>';
        if (day(d) !== lastDay) { g += '<text x="' + cx + '" y="' + (H - B + 29) + '" text-anchor="middle" style="font-weight:600">' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + '</text>'; lastDay = day(d); }
      }
    });
    g += '<text x="' + (L + pw / 2) + '" y="' + (H - 2) + '" text-anchor="middle">run start (' + esc(tzLabel) + '), oldest → newest</text>';
    g += '<text transform="translate(12 ' + (T + ph / 2) + ') rotate(-90)" text-anchor="middle">records delivered</text>';
    return '<svg class="timeline" viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="run history: share of records delivered per run">' + g + '</svg>' +
      '<div class="legend">' + ['succeeded', 'partial', 'failed', 'cancelled', 'running'].map((k) => '<span><i style="background:' + COLOR[k] + '"></i>' + esc(STATUS[k]) + '</span>').join('') + '</div>';
  }
  function drawChart(runs) {
    const canvas = $('#records-chart');
    if (chart) { chart.destroy(); chart = null; }
    if (!canvas || !window.Chart) return;
    const rs = runs.slice(0, 40).reverse();
    const clocks = clock(rs);
    const labels = rs.map((r, i) => { const d = new Date(r.startedAt); return [clocks[i], pad(d.getMonth() + 1) + '-' + pad(d.getDate())]; });
    const set = (label, key, color) => ({ label, data: rs.map((r) => r.counts[key]), backgroundColor: color, stack: 'records', maxBarThickness: 36 });
    chart = new window.Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: [set('新增 inserted', 'inserted', '#1f9d55'), set('更新 updated', 'updated', '#2f6fdf'), set('跳过 skipped', 'skipped', '#98a2b3'), set('失败 failed', 'failed', '#d64545')] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 10, font: { size: 11 } } }, tooltip: { callbacks: { title: (items) => time(rs[items[0].dataIndex].startedAt) + ' · ' + rs[items[0].dataIndex].status } } },
        scales: {
          x: { stacked: true, title: { display: true, text: 'run start (' + tzLabel + ')' }, ticks: { autoSkip: true, maxRotation: 0, font: { size: 11 } }, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: 'records' }, ticks: { precision: 0, font: { size: 11 } } },
        },
      },
    });
    canvas.dataset.points = String(rs.length);
  }
  function progressBlock(s) {
    const p = progress.get(s.id) || s.progress;
    if (!s.running) return '<div data-role="live"></div>';
    if (!p) return '<div data-role="live"><div class="progress" data-role="progress">运行中 running…</div></div>';
    const total = p.total || 0, done = p.inserted + p.updated + p.skipped + p.failed;
    return '<div data-role="live"><div class="progress" data-role="progress">运行中 running · ' + p.phase + ' · ' + done + (total ? ' / ' + total : '') + ' records · ' + Math.round(p.ratePerSecond) + '/s · ' + dur(p.elapsedMs) + (p.etaMs != null ? ' · ETA ' + dur(Math.round(p.etaMs)) : '') + '</div><div class="bar"><i style="width:' + (total ? Math.min(100, done / total * 100) : 3) + '%"></i></div></div>';
  }
  function deadTable(items, schemeId, running) {
    if (!items.length) return '<div class="empty">None: every record was delivered or is still queued.</div>';
    return '<table class="grid dead"><thead><tr><th>客户 Customer</th><th>错误 Error</th><th>诊断 Diagnosis</th><th class="num">Attempts</th><th>Since</th><th></th></tr></thead><tbody>' + items.map((d) =>
      '<tr data-dead="' + d.id + '" data-key="' + esc(d.key) + '"><td class="name" data-label="Customer"><b>' + esc(d.name || d.key) + '</b><div class="dim mono">' + esc(d.code || '') + (d.code && d.code !== d.key ? ' · ' : '') + (d.code !== d.key ? 'key ' + esc(d.key) : '') + '</div></td>' +
      '<td class="msgcell" data-label="Error"><span class="mono badv">' + esc(d.error || 'unknown') + '</span><div>' + esc(d.message || '') + '</div></td>' +
      '<td class="msgcell" data-label="Diagnosis"><span class="hint">' + esc(d.diagnosis || '–') + '</span></td>' +
      '<td class="num" data-label="Attempts">' + d.attempts + '</td>' +
      '<td data-label="Since"><span title="' + esc(time(d.updatedAt)) + '">' + esc(short(d.updatedAt)) + '</span><div class="dim"><a href="#/r/' + encodeURIComponent(d.runId) + '">run</a></div></td>' +
      '<td class="act" data-label=""><button class="act requeue" data-action="retry" data-scheme="' + esc(schemeId) + '" data-id="' + d.id + '"' + (running ? ' disabled' : '') + '>重新排队 Re-queue</button></td></tr>').join('') + '</tbody></table>';
  }
  function fatalList(runs) {
    const f = runs.filter((r) => r.fatal).slice(0, 10);
    if (!f.length) return '';
    return '<div class="card" data-role="fatal"><h3>致命错误 Fatal errors <span class="dim">— runs that stopped; their records stay queued (not dead letters)</span></h3>' + f.map((r) =>
      '<div class="fatal"><div><span class="mono badv">' + esc(r.fatal.code) + '</span> · <a href="#/r/' + encodeURIComponent(r.runId) + '">' + esc(time(r.startedAt)) + '</a> ' + badge(r.status) + '</div><div class="msg">' + esc(r.fatal.message) + '</div>' + (r.fatal.hint ? '<div class="hint">→ ' + esc(r.fatal.hint) + '</div>' : '') + '</div>').join('') + '</div>';
  }
  function runsTable(runs) {
    return '<table class="grid runs"><thead><tr><th>开始 Started</th><th>状态 Status</th><th class="num">Duration</th><th class="num">Read</th><th class="num">Inserted</th><th class="num">Updated</th><th class="num">Skipped</th><th class="num">Failed</th><th>Problems</th></tr></thead><tbody>' + runs.map((r) =>
      '<tr data-run="' + esc(r.runId) + '"><td class="name" data-label="Started"><a href="#/r/' + encodeURIComponent(r.runId) + '">' + esc(time(r.startedAt)) + '</a></td><td data-label="Status">' + badge(r.status) + '</td>' +
      '<td class="num" data-label="Duration">' + (r.status === 'running' ? 'running ' : '') + esc(dur(runMs(r))) + '</td>' + ['read', 'inserted', 'updated', 'skipped', 'failed'].map((k) => '<td class="num" data-label="' + k + '">' + (k === 'failed' && r.counts[k] ? '<span class="badv">' + r.counts[k] + '</span>' : r.counts[k]) + '</td>').join('') +
      '<td class="msgcell" data-label="Problems">' + (r.fatal ? '<span class="badv mono">fatal ' + esc(r.fatal.code) + '</span> ' : '') + (r.errors || []).slice(0, 3).map((e) => '<span class="mono">' + e.count + '× ' + esc(e.code) + '</span>').join(', ') + '</td></tr>').join('') + '</tbody></table>';
  }
  function runsBox(runs) {
    if (!runs.length) return '<div class="empty">No runs yet.</div>';
    const counts = {};
    for (const r of runs) counts[r.status] = (counts[r.status] || 0) + 1;
    const f = counts[ui.runFilter] ? ui.runFilter : 'all';
    const chips = ['all'].concat(ORDER.filter((k) => counts[k])).map((k) => '<button class="chip" data-run-filter="' + k + '" aria-pressed="' + (f === k) + '">' + esc(k === 'all' ? '全部 All' : STATUS[k]) + '<span class="n">' + (k === 'all' ? runs.length : counts[k]) + '</span></button>').join('');
    const shown = runs.filter((r) => f === 'all' || r.status === f);
    return '<div class="toolbar" role="toolbar" aria-label="filter runs by status">' + chips + '</div>' + runsTable(shown.slice(0, 50)) + (shown.length > 50 ? '<div class="dim">' + (shown.length - 50) + ' older runs not shown</div>' : '');
  }
  function renderScheme() {
    const { s, runs, dead } = scheme;
    const last = runs[0];
    const c = last ? last.counts : { read: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 };
    const st = !s.valid ? 'invalid' : s.running ? 'running' : (s.status || 'never-run');
    const stat = (v, label, attr) => '<div class="stat"><b' + (attr || '') + '>' + v + '</b><span>' + label + '</span></div>';
    let html = '<div class="crumbs"><a href="#/">← 全部方案 All schemes</a></div>';
    html += '<div class="card" data-scheme-page="' + esc(s.id) + '"><div class="head"><h2>' + esc(s.name || s.id) + '</h2>' + badge(st, 'status') + '<span class="dim mono">' + esc(s.id) + '</span><div class="actions"><button class="act primary" data-action="run" data-scheme="' + esc(s.id) + '"' + (!s.valid || s.running ? ' disabled' : '') + '>立即运行 Run now</button></div></div>';
    html += '<div class="dim">' + esc(s.file) + (s.systems ? ' · ' + esc(s.systems.source) + ' → ' + esc(s.systems.target) : '') + (s.schedule ? ' · cron <span class="mono">' + esc(s.schedule) + '</span> · next ' + esc(time(s.nextRunAt)) : ' · no schedule: runs from this page') + '</div>';
    html += '<div class="stats">' + stat(esc(c.read), '读取 read (' + (s.running ? 'this run' : 'last run') + ')', ' data-count="read"') + stat(esc(c.inserted), '新增 inserted', ' data-count="inserted"') + stat(esc(c.updated), '更新 updated', ' data-count="updated"') + stat(esc(c.failed), '失败 failed', ' data-count="failed"') +
      stat(esc(s.queue.pending + s.queue['in-flight']), '队列 queued', ' data-queue="pending"') + stat(esc(s.queue.dead), '死信 dead letters', ' data-queue="dead"') + stat(pct(s.successRate), '成功率 runs succeeded') + stat(pct(s.recordSuccessRate), 'records delivered') +
      '<div class="stat" style="grid-column: span 2"><b class="mono" title="the source\'s cursor, in its own format">' + esc(s.cursor || '–') + '</b><span>游标 cursor</span></div><div class="stat" style="grid-column: span 2"><div class="thr" data-role="throttling">' + throttleCell(s.throttling, s.systems) + '</div><span>限流 throttling (' + (s.running ? 'this run' : 'last run') + ')</span></div></div>';
    html += progressBlock(s) + '</div>';
    html += fatalList(runs);
    html += '<div class="two"><div class="card"><h3>运行记录 Run history <span class="dim">— share of records delivered per run (last ' + Math.min(40, runs.length) + ')</span></h3><div id="timeline-box"></div></div>' +
      '<div class="card"><h3>记录数 Records per run <span class="dim">— chart.js</span></h3>' + (runs.length ? '<div class="chartbox"><canvas id="records-chart" aria-label="records written per run"></canvas></div>' : '<div class="empty">No runs yet.</div>') + '</div></div>';
    html += '<div class="card" data-role="dead-letters"><div class="head"><h3>死信 Dead letters <span class="dim">— ' + dead.length + ' customer(s)' + (s.deadLetters.length ? ': ' + s.deadLetters.map((g) => g.count + '× ' + esc(g.code)).join(', ') : '') + '</span></h3>' +
      (dead.length ? '<div class="actions"><button class="act primary requeue-all" data-action="retry" data-scheme="' + esc(s.id) + '"' + (s.running ? ' disabled' : '') + '>全部重新排队 Re-queue all &amp; deliver</button></div>' : '') + '</div>' + deadTable(dead, s.id, s.running) + '</div>';
    html += '<div class="card"><div class="head"><h3>运行 Runs</h3></div><div id="runs-box">' + runsBox(runs) + '</div></div>';
    $('#view').innerHTML = html;
    // drawn once the box has its width, so its text is not scaled
    $('#timeline-box').innerHTML = timeline(runs, s);
    drawChart(runs);
  }

  // ---- run page ----
  function renderRun(r, dead) {
    const groups = (title, list, cls) => list && list.length ? '<div class="card"><h3>' + title + '</h3>' + list.map((e) => '<div class="' + (cls || 'fatal') + '"><div><b>' + e.count + ' ×</b> <span class="mono">' + esc(e.code) + '</span></div><div class="msg">' + esc(e.message) + '</div>' + (e.hint ? '<div class="hint">→ ' + esc(e.hint) + '</div>' : '') + '</div>').join('') + '</div>' : '';
    let html = '<div class="crumbs"><a href="#/">全部方案 All schemes</a> › <a href="#/s/' + encodeURIComponent(r.scheme) + '">' + esc(r.scheme) + '</a> › run</div>';
    html += '<div class="card" data-run-page="' + esc(r.runId) + '"><div class="head"><h2>运行 Run ' + esc(time(r.startedAt)) + '</h2>' + badge(r.status, 'status') + '<span class="dim mono">' + esc(r.runId) + '</span></div>';
    html += '<div class="dim">started ' + esc(time(r.startedAt)) + ' · ' + (r.finishedAt ? 'finished ' + esc(time(r.finishedAt)) + ' · ' : '') + (r.status === 'running' ? 'running for ' : 'took ') + esc(dur(runMs(r))) + (r.resumed ? ' · ' + r.resumed + ' resumed from an earlier queue' : '') + ' · cursor after <span class="mono">' + esc(r.cursor || '–') + '</span></div>';
    html += '<div class="stats">' + ['read', 'inserted', 'updated', 'skipped', 'failed'].map((k) => '<div class="stat"><b data-count="' + k + '">' + r.counts[k] + '</b><span>' + k + '</span></div>').join('') + '</div></div>';
    if (r.status === 'cancelled') html += '<div class="card"><b>已取消 Cancelled</b> — stopped by the operator; what was not written stays queued and the next run delivers it. Not counted as a failure.</div>';
    if (r.fatal) html += '<div class="card" data-role="fatal"><h3>致命错误 Fatal error <span class="dim">— the run stopped here</span></h3><div class="fatal"><span class="mono badv">' + esc(r.fatal.code) + '</span><div class="msg">' + esc(r.fatal.message) + '</div>' + (r.fatal.hint ? '<div class="hint">→ ' + esc(r.fatal.hint) + '</div>' : '') + '</div></div>';
    html += groups('错误 Errors <span class="dim">— records that failed in this run, by code</span>', r.errors);
    html += groups('跳过 Skips', r.skips, 'fatal skip');
    html += groups('警告 Warnings', r.warnings, 'fatal warn');
    if (!r.fatal && !(r.errors || []).length) html += '<div class="card empty">No errors in this run.</div>';
    html += '<div class="card" data-role="dead-letters"><h3>死信 Dead letters from this run <span class="dim">— ' + dead.length + ' still dead</span></h3>' + deadTable(dead, r.scheme, false) + '</div>';
    $('#view').innerHTML = html;
  }

  // ---- routing and loading ----
  function parseRoute() {
    const h = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
    if (!h) return { view: 'overview' };
    if (h.startsWith('s/')) return { view: 'scheme', id: h.slice(2) };
    if (h.startsWith('r/')) return { view: 'run', id: h.slice(2) };
    return { view: 'scheme', id: h }; // #<scheme>, as alerts link it
  }
  let loading = null, again = false;
  function load() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      try {
        route = parseRoute();
        if (route.view === 'overview') {
          [data, fleet] = await Promise.all([get('/api/schemes'), get('/api/workers').catch((e) => ({ enabled: true, error: e.message, workers: [], queues: [] }))]);
          for (const s of data.schemes) if (!s.running) progress.delete(s.id);
          if (chart) { chart.destroy(); chart = null; }
          renderOverview();
        } else if (route.view === 'scheme') {
          const id = encodeURIComponent(route.id);
          const [s, runs, dead] = await Promise.all([get('/api/schemes/' + id), get('/api/schemes/' + id + '/runs?limit=100'), get('/api/schemes/' + id + '/dead')]);
          if (!s.running) progress.delete(s.id);
          scheme = { s, runs, dead };
          renderScheme();
        } else {
          const r = await get('/api/runs/' + encodeURIComponent(route.id));
          if (chart) { chart.destroy(); chart = null; }
          renderRun(r.report, r.deadLetters);
        }
        document.body.dataset.view = route.view;
      } catch (e) {
        $('#view').innerHTML = '<div class="crumbs"><a href="#/">← All schemes</a></div><div class="error">' + esc(e.message) + '</div>';
      } finally { loading = null; if (again) { again = false; load(); } }
    })();
    return loading;
  }
  let timer = null;
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 120); };

  document.addEventListener('click', async (ev) => {
    const sortBtn = ev.target.closest('button[data-sort]');
    if (sortBtn) { const k = sortBtn.dataset.sort; ui.sort = { key: k, dir: ui.sort.key === k ? -ui.sort.dir : 1 }; renderOverview(); return; }
    const runChip = ev.target.closest('button[data-run-filter]');
    if (runChip && scheme) { ui.runFilter = runChip.dataset.runFilter; $('#runs-box').innerHTML = runsBox(scheme.runs); return; }
    const chip = ev.target.closest('button[data-filter]');
    if (chip) { ui.filter = chip.dataset.filter; renderOverview(); return; }
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    const id = b.dataset.scheme, action = b.dataset.action;
    b.disabled = true;
    const body = action === 'retry' && b.dataset.id ? { ids: [Number(b.dataset.id)] } : {};
    const res = await fetch('/api/schemes/' + encodeURIComponent(id) + '/' + action, { method: 'POST', headers: Object.assign({}, auth, { 'content-type': 'application/json', 'x-qiao-action': '1' }), body: JSON.stringify(body) });
    const out = await res.json().catch(() => ({}));
    toast(res.ok ? (action === 'run' ? 'Run started' : 'Re-queued ' + out.requeued + (out.started ? ', delivering now' : '')) : (out.error || 'HTTP ' + res.status));
    load();
  });
  document.addEventListener('input', (ev) => {
    if (!ev.target.matches('input.search')) return;
    ui.search = ev.target.value; ui.focusSearch = true; renderOverview(); ui.focusSearch = false;
  });
  window.addEventListener('hashchange', () => { window.scrollTo(0, 0); load(); });
  let resizeT = null;
  window.addEventListener('resize', () => { clearTimeout(resizeT); resizeT = setTimeout(() => { if (route.view === 'scheme' && scheme) { const box = $('#timeline-box'); if (box) box.innerHTML = timeline(scheme.runs, scheme.s); } }, 150); });

  function onProgress(id, p, throttling) {
    progress.set(id, p);
    if (route.view === 'overview') {
      const s = data.schemes.find((x) => x.id === id);
      if (!s) return;
      const started = !s.running;
      if (started) { s.running = true; s.status = 'running'; }
      s.progress = p;
      if (throttling) s.throttling = throttling;
      // only its row is redrawn while it runs, so a click elsewhere is not lost to a redraw
      const tr = $('tr[data-scheme="' + CSS.escape(id) + '"]');
      if (started) renderOverview(); else if (tr) tr.outerHTML = overviewRow(s);
    } else if (route.view === 'scheme' && scheme && scheme.s.id === id) {
      if (!scheme.s.running) { soon(); return; }
      const live = $('[data-role="live"]');
      if (live) live.outerHTML = progressBlock(scheme.s);
      for (const k of ['read', 'inserted', 'updated', 'failed']) { const el = $('[data-count="' + k + '"]'); if (el) el.textContent = p[k]; }
      const thr = $('[data-role="throttling"]');
      if (thr && throttling) thr.innerHTML = throttleCell(throttling, scheme.s.systems);
    }
  }
  function connect() {
    const es = new EventSource('/api/events' + (token ? '?token=' + encodeURIComponent(token) : ''));
    const live = $('#live');
    es.onopen = () => { live.textContent = 'live'; live.classList.add('on'); };
    es.onerror = () => { live.textContent = 'reconnecting…'; live.classList.remove('on'); };
    es.addEventListener('progress', (e) => { const m = JSON.parse(e.data); onProgress(m.scheme, m.progress, m.throttling); });
    es.addEventListener('run', soon);
    es.addEventListener('schemes', soon);
  }
  load().then(connect);
  setInterval(() => { if (!loading) load(); }, 30000);
  // the other workers send no events to this page: their part is polled
  setInterval(() => { if (!loading && fleet.enabled && route.view === 'overview') load(); }, 5000);
})();
`;
