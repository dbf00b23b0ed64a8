// app.js: the auditd console. Plain DOM (text only, never innerHTML), one view per
// console role, data from the daemon's JSON API on the same origin. The session is an
// HttpOnly cookie; state changes send the CSRF token from GET /v1/session.
import * as V from './verify.js';

const $ = id => document.getElementById(id);
let me = null;          // {name, roles, csrf, rights}
let current = null;     // view id

function h(tag, attrs, ...kids) {
  const ns = ['svg', 'polyline', 'line', 'rect', 'text', 'g', 'circle', 'title'].includes(tag) ? 'http://www.w3.org/2000/svg' : null;
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.setAttribute('class', v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}
const badge = (s, cls) => h('span', { class: `badge b-${cls || s}` }, s);
const short = (s, n = 12) => (s && s.length > n ? s.slice(0, n) + '…' : s || '');
const when = t => (t ? t.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

function toast(msg, bad) {
  const t = $('toast');
  t.textContent = msg;
  t.className = bad ? 'toast bad' : 'toast';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', credentials: 'same-origin', headers: {} };
  if (init.method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    if (me) init.headers['X-CSRF-Token'] = me.csrf;
    init.body = JSON.stringify(opts.body || {});
  }
  const r = await fetch(path, init);
  const ct = r.headers.get('Content-Type') || '';
  const body = ct.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const err = new Error(body && body.message ? body.message : `${r.status}`);
    err.status = r.status;
    throw err;
  }
  return body;
}

async function act(path, body, what) {
  try {
    const r = await api(path, { method: 'POST', body });
    toast(`${what}: recorded as ${r.recorded} at ledger index ${r.index}`);
    return r;
  } catch (e) {
    toast(`${what} refused: ${e.message}`, true);
    return null;
  }
}

/* ---------- views per console role ---------- */
const VIEWS = [
  { id: 'steering', label: 'Steering', role: 'steering', render: viewSteering },
  { id: 'auditor', label: 'Audit', role: 'auditor', render: viewAuditor },
  { id: 'operator', label: 'Operations', role: 'operator', render: viewOperator },
  { id: 'models', label: 'Models & changes', role: ['data-scientist', 'approver'], render: viewModels },
  { id: 'admin', label: 'People', role: 'admin', render: viewAdmin },
];
const mayView = v => [].concat(v.role).some(r => me.roles.includes(r));

function nav() {
  const n = $('nav');
  n.replaceChildren(...VIEWS.filter(mayView).map(v =>
    h('button', { 'data-view': v.id, class: v.id === current ? 'active' : '', onclick: () => show(v.id) }, v.label)));
}

async function show(id) {
  const v = VIEWS.find(x => x.id === id && mayView(x));
  if (!v) return;
  current = id;
  location.hash = id;
  nav();
  const view = $('view');
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const t0 = performance.now();
  try {
    const el = await v.render();
    view.replaceChildren(el);
  } catch (e) {
    view.replaceChildren(h('div', { class: 'card error' }, `Could not load this view: ${e.message}`));
  }
  view.dataset.loadedMs = String(Math.round(performance.now() - t0));
  view.dataset.view = id;
  document.body.dataset.ready = id;
}

/* ---------- proof panel (any role: every record shown can be checked) ---------- */
function pinnedKeys() {
  try { return JSON.parse(localStorage.getItem('auditd.pinned') || '[]'); } catch { return []; }
}

async function checkEntry(index, out) {
  out.replaceChildren(h('p', { class: 'muted' }, `Checking entry ${index}…`));
  const lines = pinnedKeys();
  const items = [];
  let ok = true;
  const row = (what, good, detail) => { items.push(h('li', { class: good === null ? 'skip' : good ? 'ok' : 'bad' }, what, detail ? h('span', { class: 'muted' }, ` — ${detail}`) : '')); if (good === false) ok = false; };
  try {
    if (!lines.length) throw new Error('pin the log key first (Audit view, "Pinned keys")');
    const keys = [];
    for (const l of lines) keys.push(await V.parseVkey(l));
    const logKey = keys.find(k => k.type === 0x01);
    if (!logKey) throw new Error('no log key (type 0x01) among the pinned keys');
    const witnesses = keys.filter(k => k.type === 0x04);
    const [cpText, entry] = await Promise.all([
      fetch('/v1/log/checkpoint', { credentials: 'same-origin' }).then(r => r.text()),
      api(`/v1/log/entries/${index}`)]);
    const cp = V.parseCheckpoint(cpText);
    const proof = await api(`/v1/log/proof/inclusion?index=${index}&tree_size=${cp.size}`);
    // Only the crypto is timed: what the page itself computes.
    const t0 = performance.now();
    const leaf = V.b64decode(entry.leaf);
    for (const c of await V.verifyCheckpoint(cp, logKey, witnesses)) row(c.what, c.ok, c.detail);
    const lh = await V.leafHash(leaf);
    const path = proof.hashes.map(V.b64decode);
    const inc = await V.verifyInclusion(index, cp.size, lh, path, cp.root);
    row(`entry ${index} is in the tree of size ${cp.size} (RFC 6962 audit path of ${path.length} hashes)`, inc,
        inc ? `leaf hash ${V.hex(lh).slice(0, 16)}…` : 'the recomputed root differs from the signed root');
    const ms = performance.now() - t0;
    let payload = '';
    try { payload = JSON.stringify(JSON.parse(new TextDecoder().decode(leaf)).payload, null, 1); } catch { payload = '(leaf is not JSON)'; }
    out.replaceChildren(
      h('p', { class: `verdict ${ok ? 'ok' : 'bad'}`, 'data-verdict': ok ? 'verified' : 'failed', 'data-ms': ms.toFixed(2) },
        ok ? `Entry ${index} verified in this browser` : `Entry ${index} did NOT verify`,
        h('span', { class: 'muted small' }, ` (${ms.toFixed(1)} ms of hashing and signature checks)`)),
      h('ul', { class: 'checks' }, items),
      h('pre', {}, payload));
  } catch (e) {
    out.replaceChildren(h('p', { class: 'verdict bad', 'data-verdict': 'error' }, `Cannot check entry ${index}: ${e.message}`));
  }
}

function proofPanel(title) {
  const out = h('div', { class: 'proof-out', id: 'proof-out' });
  const input = h('input', { id: 'proof-index', type: 'number', min: '0', placeholder: 'ledger index' });
  const panel = h('div', { class: 'card', id: 'proof-panel' },
    h('h2', {}, title || 'Check a ledger record in this browser'),
    h('p', { class: 'muted small' }, 'SHA-256 and Ed25519 by WebCrypto, the RFC 6962 audit path, the checkpoint signature and the cosignatures of the witnesses you pinned. The server is not trusted for any of it.'),
    h('div', { class: 'inline' }, h('label', {}, 'Entry', input),
      h('button', { id: 'proof-go', onclick: () => input.value !== '' && checkEntry(Number(input.value), out) }, 'Verify')),
    out);
  panel.check = i => { input.value = i; checkEntry(i, out); panel.scrollIntoView({ block: 'nearest' }); };
  return panel;
}
const verifyBtn = (panel, index) => h('button', { class: 'secondary small', 'data-verify': index, onclick: () => panel.check(index) }, `#${index}`);

/* ---------- steering ---------- */
/* KPI data format auditd-report-kpis/2 (docs/reports.md): previous and
   baseline are {value, display, why, ...} objects. */
function num(x) { return x !== null && typeof x === 'object' ? x.value : x; }

function spark(k) {
  const base = num(k.baseline);
  const pts = (k.weekly || []).map((v, i) => [i, v]).filter(p => p[1] !== null);
  const vals = pts.map(p => p[1]).concat([base, k.target].filter(x => x !== null && x !== undefined));
  if (pts.length < 2) return h('div', { class: 'muted small' }, 'no weekly trend');
  const lo = Math.min(...vals), hi = Math.max(...vals), n = (k.weekly || []).length - 1 || 1;
  const y = v => 34 - (hi === lo ? 15 : ((v - lo) / (hi - lo)) * 30);
  const svg = h('svg', { class: 'spark', viewBox: '0 0 200 38', preserveAspectRatio: 'none', role: 'img', 'aria-label': `weekly trend of ${k.name}` },
    base !== null && base !== undefined ? h('line', { class: 'base', x1: 0, x2: 200, y1: y(base), y2: y(base) }) : null,
    k.target !== null ? h('line', { class: 'target', x1: 0, x2: 200, y1: y(k.target), y2: y(k.target) }) : null,
    h('polyline', { points: pts.map(([i, v]) => `${(i / n) * 200},${y(v)}`).join(' ') }));
  return svg;
}

function fmt(v, k) {
  if (v === null || v === undefined) return 'n/a';
  const d = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(d)}${k.unit === '%' ? ' %' : k.unit ? ' ' + k.unit : ''}`;
}

// Whose truth a model KPI counts (docs/reports.md, "labels"): precision counts the
// operators' verdicts on alarms once there are enough, recall their confirmed failures.
function truthText(k, l) {
  l = l || {};
  const n = k.id === 'model_precision' ? l.on_alarms : k.id === 'defect_detection_rate' ? l.confirmed_failures : null;
  const what = k.id === 'model_precision' ? 'verdicts on alarms' : 'confirmed failures';
  if (k.label_source === 'operator_labels') return `truth: the operators' ${what} (${n} in the period)`;
  if (n === null || n === undefined) return 'truth: the simulator\'s ground truth (failure_label)';
  return `truth: the simulator's ground truth (failure_label); the operators' ${what} count from ${l.min_operator_labels}, ${n} so far`;
}

async function viewSteering() {
  const d = await api('/v1/console/steering' + (viewSteering.period ? `?period=${encodeURIComponent(viewSteering.period)}` : ''));
  const panel = proofPanel('Check an issued report\'s ledger record');
  const rep = d.report;
  const period = h('input', { id: 'steer-period', value: d.period, size: 10 });
  const head = h('div', { class: 'card' },
    h('div', { class: 'inline' }, h('h1', {}, `KPIs, ${d.period}`),
      h('label', {}, 'Period', period),
      h('button', { class: 'secondary', onclick: () => { viewSteering.period = period.value; show('steering'); } }, 'Show'),
      h('button', { id: 'issue-report', onclick: async () => { const r = await act('/v1/console/reports', { period: period.value, format: 'html' }, 'Report'); if (r) show('steering'); } }, 'Issue the report')),
    rep ? h('p', { class: 'muted' }, `Computed at the signed checkpoint of ${rep.tree_size} entries (as of ${when(rep.as_of)}), against the baseline and ${(rep.previous_period && rep.previous_period.label) || rep.previous_period}. Not issued: issuing records it in the ledger.`)
        : h('p', { class: 'error' }, d.report_error || 'no KPI data'));
  const cards = rep ? h('div', { class: 'grid', id: 'kpis' }, rep.kpis.map(k => h('div', { class: 'kpi', 'data-kpi': k.id },
    h('div', { class: 'name' }, k.name),
    h('div', { class: 'val' }, k.value === null ? 'n/a' : fmt(k.value, k), ' ', badge(k.status, k.status === 'met' ? 'ok' : k.status === 'missed' ? 'bad' : 'warn')),
    h('div', { class: 'cmp' }, `baseline ${fmt(num(k.baseline), k)} · previous ${fmt(num(k.previous), k)} · target ${fmt(k.target, k)}`),
    k.why ? h('div', { class: 'cmp' }, k.why) : null,
    k.label_source ? h('div', { class: 'cmp truth', 'data-label-source': k.label_source }, truthText(k, rep.labels)) : null,
    spark(k)))) : null;
  const issued = h('div', { class: 'card' }, h('h2', {}, 'Issued reports'),
    d.issued.length ? h('table', { id: 'issued' }, h('tr', {}, ['Period', 'Format', 'SHA-256', 'Checkpoint', 'Issued by', 'When', 'Ledger record'].map(t => h('th', {}, t))),
      d.issued.slice().reverse().map(r => h('tr', {}, h('td', {}, r.period), h('td', {}, r.format), h('td', { class: 'mono' }, short(r.sha256, 16)),
        h('td', {}, r.tree_size), h('td', {}, r.actor), h('td', {}, when(r.time)), h('td', {}, verifyBtn(panel, r.index))))) : h('p', { class: 'muted' }, 'No report was issued yet.'));
  return h('div', {}, head, cards ? h('div', { class: 'card' }, cards) : null, h('div', { class: 'two' }, issued, panel));
}

/* ---------- auditor ---------- */
async function viewAuditor() {
  const panel = proofPanel();
  const tabs = ['Controls', 'Findings', 'RACI', 'Events', 'Pinned keys'];
  const body = h('div', {});
  const bar = h('div', { class: 'tabs' });
  const pick = async t => {
    viewAuditor.tab = t;
    bar.replaceChildren(...tabs.map(x => h('button', { class: x === t ? 'active' : '', 'data-tab': x, onclick: () => pick(x) }, x)));
    body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    body.replaceChildren(await ({ Controls: auditControls, Findings: auditFindings, RACI: auditRaci, Events: auditEvents, 'Pinned keys': auditKeys })[t](panel));
  };
  await pick(viewAuditor.tab || 'Controls');
  return h('div', { class: 'two' }, h('div', { class: 'card' }, bar, body), panel);
}

async function auditControls(panel) {
  const d = await api('/v1/controls');
  const fw = {};
  for (const c of d.controls) (fw[c.framework] = fw[c.framework] || []).push(c);
  return h('div', { id: 'controls' }, h('p', { class: 'muted' }, `Evaluated at tree size ${d.tree_size}, policy ${d.policy ? d.policy.version : ''}`),
    Object.entries(fw).map(([f, list]) => h('div', {}, h('h3', {}, `${f}: `, Object.entries(d.summary[f] || {}).map(([k, v]) => `${v} ${k.replace('_', ' ')}`).join(', ')),
      h('div', { class: 'scroll' }, h('table', {}, h('tr', {}, ['Control', 'Title', 'Status', 'Rules'].map(t => h('th', {}, t))),
        list.map(c => h('tr', {}, h('td', {}, c.label), h('td', {}, c.title), h('td', {}, badge(c.status)),
          h('td', { class: 'small' }, (c.rules || []).map(r => h('div', {}, `${r.id} `, badge(r.status)))))))))));
}

async function auditFindings(panel) {
  const d = await api('/v1/findings');
  return h('div', { id: 'findings', class: 'scroll' }, h('table', {}, h('tr', {}, ['Rule', 'Severity', 'Owner', 'Finding', 'Evidence'].map(t => h('th', {}, t))),
    d.findings.map(f => h('tr', {}, h('td', {}, f.rule), h('td', {}, badge(f.severity)), h('td', {}, f.owner || ''), h('td', { class: 'small' }, f.message),
      h('td', {}, [].concat(f.index !== undefined ? [f.index] : [], f.evidence || []).slice(0, 6).map(i => verifyBtn(panel, i)))))));
}

async function auditRaci() {
  const d = await api('/v1/raci');
  const people = d.principals.map(p => p.id);
  const rolesOf = Object.fromEntries(d.principals.map(p => [p.id, p.roles || []]));
  const holds = (list, p) => (list || []).some(x => x.principal === p || (x.role && rolesOf[p].includes(x.role)));
  return h('div', { id: 'raci', class: 'scroll' }, h('p', { class: 'muted' }, `${d.name} ${d.version} (sha256 ${short(d.sha256, 16)})`),
    h('table', {}, h('tr', {}, h('th', {}, 'Activity'), people.map(p => h('th', { class: 'small' }, p)), h('th', {}, 'SLA')),
      d.activities.map(a => h('tr', {}, h('td', {}, a.id),
        people.map(p => h('td', {}, ['r', 'a', 'c', 'i'].filter(l => holds(a[l], p)).join('').toUpperCase())),
        h('td', { class: 'small' }, a.sla ? Object.entries(a.sla).map(([k, v]) => `${k.replace('_s', '')} ${Math.round(v / 3600)} h`).join(', ') : '')))));
}

async function auditEvents(panel) {
  const f = { type: h('input', { id: 'ev-type', placeholder: 'change.approve' }), actor: h('input', { id: 'ev-actor', placeholder: 'carol' }),
    source: h('input', { id: 'ev-source', placeholder: 'console' }), from: h('input', { id: 'ev-from', placeholder: '2026-07-01T00:00:00Z' }),
    to: h('input', { id: 'ev-to', placeholder: '2026-10-01T00:00:00Z' }) };
  const out = h('div', { id: 'events', class: 'scroll' });
  const run = async () => {
    const q = new URLSearchParams({ limit: '200' });
    for (const [k, e] of Object.entries(f)) if (e.value.trim()) q.set(k, e.value.trim());
    try {
      const d = await api(`/v1/events?${q}`);
      out.replaceChildren(h('table', {}, h('tr', {}, ['Index', 'Type', 'Time', 'Actor', 'Writer', 'Source'].map(t => h('th', {}, t))),
        d.events.map(e => h('tr', {}, h('td', {}, verifyBtn(panel, e.index)), h('td', {}, e.leaf.type), h('td', {}, when(e.leaf.payload.time)),
          h('td', {}, e.leaf.payload.actor), h('td', {}, e.leaf.writer || ''), h('td', {}, e.leaf.source)))),
        h('p', { class: 'muted small' }, `${d.events.length} shown${d.next_cursor ? ' (more: narrow the filters)' : ''}`));
    } catch (e) { out.replaceChildren(h('p', { class: 'error' }, e.message)); }
  };
  const form = h('div', { class: 'inline' }, Object.entries(f).map(([k, e]) => h('label', {}, k, e)), h('button', { id: 'ev-search', onclick: run }, 'Search'));
  await run();
  return h('div', {}, form, out);
}

async function auditKeys() {
  const ta = h('textarea', { id: 'pin-keys', rows: 4, cols: 60, placeholder: 'origin+1234abcd+AQ... (the log, from auditd key or your records)\nwitness+abcd1234+BA... (witnesses)' });
  ta.value = pinnedKeys().join('\n');
  const msg = h('p', { class: 'small', id: 'pin-msg' });
  const save = async () => {
    const lines = ta.value.split('\n').map(s => s.trim()).filter(Boolean);
    try {
      const ks = [];
      for (const l of lines) ks.push(await V.parseVkey(l));
      localStorage.setItem('auditd.pinned', JSON.stringify(lines));
      msg.className = 'small'; msg.textContent = `Pinned: ${ks.map(k => `${k.name} (${k.type === 1 ? 'log' : 'witness'})`).join(', ')}`;
    } catch (e) { msg.className = 'small error'; msg.textContent = e.message; }
  };
  const tofu = async () => { const k = (await (await fetch('/v1/log/key')).text()).trim(); ta.value = [k, ...ta.value.split('\n').filter(l => l.trim() && l.trim() !== k)].join('\n'); msg.textContent = 'Compare this key with the one you hold before pinning it.'; };
  return h('div', { id: 'keys' }, h('p', { class: 'muted' }, 'Checks trust only these keys, kept in this browser. The first key of type 0x01 is the log\'s; keys of type 0x04 are witnesses (C2SP cosignature/v1).'),
    ta, h('div', { class: 'row-actions' }, h('button', { id: 'pin-save', onclick: save }, 'Pin'), h('button', { class: 'secondary', onclick: tofu }, 'Fetch the log key the server publishes')), msg);
}

/* ---------- operator ---------- */
// A recorded label and the reading it covers (docs/console.md, "What a label covers").
function labelText(l) {
  return h('span', { 'data-covers': l.device ? 'reading' : 'none' }, `${l.label.replace('_', ' ')} by ${l.actor}`,
    h('div', { class: 'muted' }, l.device ? `covers ${l.device} at ${when(l.reading_time)}` : 'covers no reading (not ground truth for training)'));
}
function labelForm(target) {
  const sel = h('select', { 'data-label-for': target }, ['confirmed_failure', 'false_alarm', 'unsure'].map(v => h('option', { value: v }, v.replace('_', ' '))));
  const com = h('input', { placeholder: 'comment', maxlength: 1000, 'data-comment-for': target, size: 14 });
  return h('span', { class: 'row-actions' }, sel, com,
    h('button', { class: 'secondary', 'data-action': `label:${target}`, onclick: async () => { if (await act('/v1/console/labels', { target, label: sel.value, comment: com.value }, `Label ${target}`)) show('operator'); } }, 'Label'));
}

async function viewOperator() {
  const d = await api('/v1/console/operations');
  const [q, dev] = await Promise.all([api('/v1/quarantine?limit=50'), api('/v1/devices')]);
  const panel = proofPanel();
  const open = d.alerts.filter(a => a.state !== 'resolved');
  const alerts = h('div', { class: 'card' }, h('h2', {}, `Alerts (${open.length} not resolved)`),
    h('table', { id: 'alerts' }, h('tr', {}, ['Alert', 'Kind', 'Subject', 'Raised', 'Ack due (RACI SLA)', 'State', 'Label', 'Actions'].map(t => h('th', {}, t))),
      d.alerts.map(a => h('tr', { 'data-alert': a.alert_id }, h('td', {}, a.alert_id, ' ', verifyBtn(panel, a.index)), h('td', {}, a.kind), h('td', {}, a.subject),
        h('td', {}, when(a.raised_at)), h('td', { class: 'small' }, `${when(a.ack_due)} (${Math.round(a.ack_sla_seconds / 3600)} h, ${a.activity}, A ${a.accountable})`),
        h('td', {}, badge(a.state), a.overdue ? badge('overdue') : '', a.escalated_to ? h('div', { class: 'small' }, `escalated to ${a.escalated_to} (#${a.escalation_index})`) : ''),
        h('td', { class: 'small' }, a.label ? labelText(a.label) : ''),
        h('td', {}, h('div', { class: 'row-actions' },
          a.state === 'open' ? h('button', { 'data-action': `ack:${a.alert_id}`, onclick: async () => { if (await act(`/v1/console/alerts/${encodeURIComponent(a.alert_id)}/ack`, {}, `Acknowledge ${a.alert_id}`)) show('operator'); } }, 'Acknowledge') : null,
          a.state !== 'resolved' ? h('button', { class: 'secondary', 'data-action': `resolve:${a.alert_id}`, onclick: async () => { if (await act(`/v1/console/alerts/${encodeURIComponent(a.alert_id)}/resolve`, {}, `Resolve ${a.alert_id}`)) show('operator'); } }, 'Resolve') : null),
          labelForm(`alert:${a.alert_id}`))))));
  const incs = h('div', { class: 'card' }, h('h2', {}, 'Incidents'),
    h('div', { class: 'scroll' }, h('table', { id: 'incidents' }, h('tr', {}, ['Incident', 'Severity', 'Summary', 'Opened', 'Ack due', 'Resolve due', 'State', ''].map(t => h('th', {}, t))),
      d.incidents.slice().reverse().map(i => h('tr', { 'data-incident': i.incident_id }, h('td', {}, i.incident_id), h('td', {}, badge(i.severity)), h('td', { class: 'small' }, i.summary),
        h('td', {}, when(i.opened_at)), h('td', { class: 'small' }, when(i.ack_due)), h('td', { class: 'small' }, when(i.resolve_due)), h('td', {}, badge(i.state)),
        h('td', {}, h('div', { class: 'row-actions' },
          i.state === 'open' ? h('button', { 'data-action': `iack:${i.incident_id}`, onclick: async () => { if (await act(`/v1/console/incidents/${i.incident_id}/ack`, {}, `Acknowledge ${i.incident_id}`)) show('operator'); } }, 'Acknowledge') : null,
          i.state !== 'resolved' ? h('button', { class: 'secondary', 'data-action': `iresolve:${i.incident_id}`, onclick: async () => { if (await act(`/v1/console/incidents/${i.incident_id}/resolve`, {}, `Resolve ${i.incident_id}`)) show('operator'); } }, 'Resolve') : null)))))));
  const preds = h('div', { class: 'card' }, h('h2', {}, 'Predicted failures to label'),
    h('p', { class: 'muted small', id: 'labels-feed' }, `Your labels are recorded in the ledger (label.set). A confirmed failure or a false alarm is the truth for the reading it covers: the next dataset defined with --labels trains on it, and the report counts the operators' verdicts for precision once a period holds ${d.min_operator_labels || 30} of them on alarms, for recall once it holds as many confirmed failures (${d.operator_verdicts || 0} verdicts so far).`),
    d.predictions.length ? h('div', { class: 'scroll' }, h('table', { id: 'predictions' }, h('tr', {}, ['Device', 'Reading', 'p(failure)', 'Model', 'Label'].map(t => h('th', {}, t))),
      d.predictions.map(p => h('tr', {}, h('td', {}, p.device), h('td', {}, when(p.reading_time)), h('td', {}, p.probability.toFixed(3)), h('td', {}, `${p.model}@${p.version}`),
        h('td', {}, p.label ? h('div', { class: 'small' }, labelText(p.label)) : '', labelForm(p.target)))))) : h('p', { class: 'muted' }, 'No positive predictions.'));
  const quar = h('div', { class: 'card' }, h('div', { class: 'inline' }, h('h2', {}, `Quarantine (${q.length >= 50 ? 'first 50' : q.length} waiting)`),
    h('button', { id: 'replay', class: 'secondary', onclick: async () => { try { const r = await api('/v1/console/quarantine/replay', { method: 'POST' }); toast(`Your request is recorded as ${r.recorded} at ledger index ${r.index}; the replay stored ${r.replay.accepted}, ${r.replay.quarantined} stay quarantined (telemetry.batch ${r.replay.ledger_index})`); show('operator'); } catch (e) { toast(`Replay refused: ${e.message}`, true); } } }, 'Replay')),
    h('div', { class: 'scroll' }, h('table', { id: 'quarantine' }, h('tr', {}, ['Device', 'Reason', 'Detail', 'Received'].map(t => h('th', {}, t))),
      q.slice(0, 50).map(r => h('tr', {}, h('td', {}, r.device || ''), h('td', {}, badge(r.reason, 'warn')), h('td', { class: 'small' }, r.detail), h('td', {}, when(r.received)))))));
  const twins = h('div', { class: 'card' }, h('h2', {}, 'Device twins'),
    h('table', { id: 'devices' }, h('tr', {}, ['Device', 'Profile', 'Firmware', 'Model', 'Last seen', 'Last values'].map(t => h('th', {}, t))),
      dev.map(t => h('tr', {}, h('td', {}, t.device), h('td', {}, `${t.profile} v${t.profile_version}`), h('td', {}, t.firmware), h('td', {}, t.model_version), h('td', {}, when(t.last_seen)),
        h('td', { class: 'small' }, Object.entries(t.last_values || {}).slice(0, 5).map(([k, v]) => `${k}=${v}`).join(' '))))));
  return h('div', {}, alerts, h('div', { class: 'two' }, incs, preds), h('div', { class: 'two' }, quar, twins), panel);
}

/* ---------- data scientist / Accountable ---------- */
function driftBars(drift) {
  const latest = {};
  for (const e of drift) latest[e.feature] = e;
  const feats = Object.values(latest);
  if (!feats.length) return h('p', { class: 'muted' }, 'No drift detected.');
  const max = Math.max(...feats.map(f => f.psi), ...feats.map(f => f.threshold || 0.2)) * 1.1;
  const W = 520, row = 22;
  return h('svg', { class: 'bars', id: 'drift', viewBox: `0 0 ${W} ${feats.length * row + 10}`, width: W, height: feats.length * row + 10, role: 'img', 'aria-label': 'PSI per feature' },
    feats.map((f, i) => h('g', {}, h('text', { x: 0, y: i * row + 15 }, f.feature),
      h('rect', { class: f.psi > (f.threshold || 0.2) ? 'bar over' : 'bar', x: 150, y: i * row + 4, height: 14, width: Math.max(1, (f.psi / max) * (W - 230)) }),
      h('text', { x: 155 + (f.psi / max) * (W - 230), y: i * row + 15 }, `PSI ${f.psi.toFixed(3)}`))),
    h('line', { class: 'thr', x1: 150 + ((feats[0].threshold || 0.2) / max) * (W - 230), x2: 150 + ((feats[0].threshold || 0.2) / max) * (W - 230), y1: 0, y2: feats.length * row + 6 }));
}

function lineageGraph(tr) {
  const steps = (tr.steps || []).slice(0, 12);
  const W = 560, bh = 34, gap = 16;
  return h('svg', { class: 'graph', id: 'lineage', viewBox: `0 0 ${W} ${steps.length * (bh + gap)}`, width: W, height: steps.length * (bh + gap), role: 'img', 'aria-label': 'lineage' },
    steps.map((s, i) => h('g', { class: 'ok' },
      i ? h('line', { x1: W / 2, x2: W / 2, y1: i * (bh + gap) - gap, y2: i * (bh + gap) }) : null,
      h('rect', { x: 10, y: i * (bh + gap), width: W - 20, height: bh, rx: 4 }),
      h('text', { x: 20, y: i * (bh + gap) + 14 }, s.index === null ? `${s.step || s.type} (not in the ledger)` : `${s.step || s.type} #${s.index}`),
      h('text', { x: 20, y: i * (bh + gap) + 28 }, short(s.model ? `${s.model}@${s.version}` : s.label ? `${s.label.replace('_', ' ')}: ${s.device} at ${when(s.reading_time)}` : s.dataset || s.batch_id || s.digest || '', 60)))),
    (tr.steps || []).length > 12 ? h('text', { x: 10, y: steps.length * (bh + gap) - 2 }, `… ${(tr.steps || []).length - 12} more`) : null);
}

async function viewModels() {
  const d = await api('/v1/console/models');
  const panel = proofPanel();
  const approver = me.roles.includes('approver');
  const pending = d.changes.filter(c => c.state === 'pending');
  const decide = (c, op) => h('button', { class: op === 'reject' ? 'danger' : op === 'consult' ? 'secondary' : '', 'data-action': `${op}:${c.change_id}`,
    onclick: async () => { if (await act(`/v1/console/changes/${encodeURIComponent(c.change_id)}/${op}`, op === 'reject' ? { reason: 'rejected in the console' } : {}, `${op} ${c.change_id}`)) show('models'); } },
    op === 'consult' ? 'I was consulted' : op[0].toUpperCase() + op.slice(1));
  const changes = h('div', { class: 'card' }, h('h2', {}, `Change requests (${pending.length} pending)`),
    h('table', { id: 'changes' }, h('tr', {}, ['Change', 'Target', 'Requested', 'Accountable', 'Consulted', 'State', ''].map(t => h('th', {}, t))),
      d.changes.slice().reverse().map(c => h('tr', { 'data-change': c.change_id }, h('td', {}, c.change_id, ' ', verifyBtn(panel, c.index), c.trigger !== undefined ? h('div', { class: 'small muted' }, `opened by a workflow, trigger #${c.trigger}`) : ''),
        h('td', {}, c.target), h('td', { class: 'small' }, `${c.requested_by} ${when(c.requested_at)}`), h('td', {}, c.accountable),
        h('td', { class: 'small' }, c.to_consult.map(p => h('div', {}, `${p} `, badge(c.consulted.includes(p) ? 'done' : 'waiting', c.consulted.includes(p) ? 'ok' : 'warn')))),
        h('td', {}, badge(c.state), c.decided_by ? h('div', { class: 'small' }, `by ${c.decided_by}`) : ''),
        h('td', {}, c.state === 'pending' ? h('div', { class: 'row-actions' }, decide(c, 'consult'), approver ? decide(c, 'approve') : null, approver ? decide(c, 'reject') : null) : '')))));
  const models = d.models || [];
  const sel = h('select', { id: 'lineage-model' }, models.map(m => h('option', { value: `${m.name}@${m.version}` }, `${m.name}@${m.version}`)));
  const lin = h('div', {});
  const loadLineage = async () => { if (!sel.value) return; try { lin.replaceChildren(lineageGraph(await api(`/v1/console/lineage?model=${encodeURIComponent(sel.value)}`))); } catch (e) { lin.replaceChildren(h('p', { class: 'error' }, e.message)); } };
  sel.addEventListener('change', loadLineage);
  const registry = h('div', { class: 'card' }, h('h2', {}, 'Model registry'),
    h('table', { id: 'registry' }, h('tr', {}, ['Model', 'Status', 'Precision', 'Recall', 'PR-AUC', 'Approved by', 'Dataset'].map(t => h('th', {}, t))),
      models.map(m => h('tr', {}, h('td', {}, `${m.name}@${m.version}`), h('td', {}, badge(m.status, m.status === 'deployed' ? 'ok' : 'warn')),
        h('td', {}, m.metrics ? m.metrics.precision.toFixed(3) : ''), h('td', {}, m.metrics ? m.metrics.recall.toFixed(3) : ''), h('td', {}, m.metrics ? m.metrics.pr_auc.toFixed(3) : ''),
        h('td', {}, m.approved_by || ''), h('td', { class: 'mono' }, short(m.dataset, 12))))),
    h('h3', {}, 'Trainings'), h('ul', { class: 'small', id: 'trainings' }, d.trainings.map(t => h('li', { 'data-operator-labels': t.operator_labels ? t.operator_labels.used : 0 },
      `${t.model} on ${short(t.dataset, 12)}: `, t.operator_labels && t.operator_labels.used
        ? `${t.operator_labels.used} operator labels used (${t.operator_labels.confirmed_failure} confirmed failures, ${t.operator_labels.false_alarm} false alarms; ${t.operator_labels.changed} changed the simulator's label)`
        : 'no operator labels', ' ', verifyBtn(panel, t.index)))));
  const esc = d.escalations.length ? h('div', { class: 'card' }, h('h2', {}, 'Escalated to you'),
    h('ul', { id: 'escalations' }, d.escalations.map(e => h('li', {}, `Alert ${e.alert_id} (${e.activity}) was not acknowledged within ${Math.round(e.sla_seconds / 3600)} h `, verifyBtn(panel, e.index))))) : null;
  const drift = h('div', { class: 'card' }, h('h2', {}, 'Drift per feature (latest PSI; dashed line: alarm threshold)'), driftBars(d.drift));
  const lineage = h('div', { class: 'card' }, h('div', { class: 'inline' }, h('h2', {}, 'Lineage'), h('label', {}, 'Model', sel)), lin);
  const out = h('div', {}, esc, changes, h('div', { class: 'two' }, registry, drift), h('div', { class: 'two' }, lineage, panel));
  loadLineage();
  return out;
}

/* ---------- admin ---------- */
async function viewAdmin() {
  const [p, a, t] = await Promise.all([api('/v1/console/people'), api('/v1/agents'), api('/v1/tokens')]);
  const tbl = (id, cols, rows) => h('table', { id }, h('tr', {}, cols.map(c => h('th', {}, c))), rows.map(r => h('tr', {}, r.map(x => h('td', {}, x)))));
  return h('div', {},
    h('div', { class: 'card' }, h('h2', {}, 'People (auditd person add|reset|revoke)'), tbl('people', ['Name', 'Console roles', 'Credential', 'Since', 'Revoked'], p.people.map(x => [x.name, x.roles.join(', '), x.credential || x.cred_id, when(x.created_at), when(x.revoked_at)]))),
    h('div', { class: 'two' },
      h('div', { class: 'card' }, h('h2', {}, 'Agents'), tbl('agents', ['Name', 'Role', 'Key id', 'Revoked'], a.agents.map(x => [x.name, x.role, x.key_id, when(x.revoked_at)]))),
      h('div', { class: 'card' }, h('h2', {}, 'API tokens'), tbl('tokens', ['Name', 'Role', 'Created', 'Revoked'], t.tokens.map(x => [x.name, x.role, when(x.created_at), when(x.revoked_at)])))));
}

/* ---------- session ---------- */
async function start() {
  try { me = await api('/v1/session'); } catch { me = null; }
  $('login').hidden = !!me;
  $('signout').hidden = !me;
  if (!me) { $('view').replaceChildren(); $('nav').replaceChildren(); $('who').textContent = ''; document.body.dataset.ready = 'login'; return; }
  $('who').textContent = `${me.name} (${me.roles.join(', ')})`;
  const want = location.hash.slice(1);
  const first = VIEWS.find(v => v.id === want && mayView(v)) || VIEWS.find(mayView);
  if (first) show(first.id); else $('view').replaceChildren(h('p', {}, 'Your console roles open no view.'));
}

$('login-form').addEventListener('submit', async ev => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    me = await api('/v1/session', { method: 'POST', body: { name: $('login-name').value, password: $('login-password').value } });
    $('login-password').value = '';
    start();
  } catch (e) { $('login-error').textContent = e.message; }
});
$('signout').addEventListener('click', async () => { try { await api('/v1/session', { method: 'DELETE' }); } catch { /* ended already */ } me = null; current = null; location.hash = ''; start(); });
start();
