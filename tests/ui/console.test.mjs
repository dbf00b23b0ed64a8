// The web console in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against the real daemon that run.sh started. Each person signs in with the password
// `auditd person add` printed; every action of the rights table is tried by every role.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, createHash, createPublicKey } from 'node:crypto';
import { chromium } from 'playwright-core';

const URL = process.env.AUDITD_URL, W = process.env.AUDITD_WORK, SHOTS = process.env.AUDITD_SHOTS;
const LOG_KEY = process.env.AUDITD_LOG_KEY.trim();
const TOKEN = readFileSync(`${W}/token`, 'utf8').trim();
const pw = n => readFileSync(`${W}/pw-${n}`, 'utf8').trim();
const ROLE_OF = { erin: 'steering', frank: 'auditor', grace: 'operator', alice: 'operator', carol: 'data-scientist', bob: 'admin' };
let browser;
const timings = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  for (const t of timings) console.log(`timing: ${t}`);
});

async function signIn(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${URL}/ui/`);
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#login-name', name);
  await page.fill('#login-password', pw(name));
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.body.dataset.ready && document.body.dataset.ready !== 'login', null, { timeout: 15000 });
  return { ctx, page };
}

// fetch from inside the page (same origin, the session cookie, the CSRF token).
async function call(page, method, path, body, csrf = true) {
  return page.evaluate(async ([method, path, body, csrf]) => {
    const s = await (await fetch('/v1/session')).json();
    const headers = { 'Content-Type': 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = s.csrf;
    const r = await fetch(path, { method, headers, body: method === 'GET' ? undefined : JSON.stringify(body || {}) });
    let j = null;
    try { j = await r.json(); } catch { /* not json */ }
    return { status: r.status, body: j };
  }, [method, path, body, csrf]);
}

async function ledgerEvents(type) {
  const r = await fetch(`${URL}/v1/events?type=${type}&limit=1000`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return (await r.json()).events;
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

test('assets carry a strict CSP, no inline code, and the login needs no token in a URL', async () => {
  const r = await fetch(`${URL}/ui/`);
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  const html = await r.text();
  assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=|https?:\/\//i);
  const bad = await fetch(`${URL}/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'grace', password: 'wrong' }) });
  assert.equal(bad.status, 401);
});

test('sign-in sets an HttpOnly, Secure, SameSite=Strict cookie that Chromium keeps on 127.0.0.1', async () => {
  const r = await fetch(`${URL}/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'grace', password: pw('grace') }) });
  assert.equal(r.status, 200);
  const c = r.headers.get('set-cookie');
  assert.match(c, /HttpOnly/); assert.match(c, /Secure/); assert.match(c, /SameSite=Strict/);
  const { ctx, page } = await signIn('grace');
  const cookies = await ctx.cookies();
  const s = cookies.find(k => k.name === 'auditd_session');
  assert.ok(s && s.httpOnly && s.secure && s.sameSite === 'Strict', 'Chromium stored the session cookie');
  assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session');
  // a state change without the CSRF token, or from another origin, is refused
  const noCsrf = await call(page, 'POST', '/v1/console/labels', { target: 'alert:ALR-001', label: 'unsure' }, false);
  assert.equal(noCsrf.status, 403);
  const cookie = `auditd_session=${s.value}`;
  const s2 = await (await fetch(`${URL}/v1/session`, { headers: { Cookie: cookie } })).json();
  const cross = await fetch(`${URL}/v1/console/labels`, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': s2.csrf, Origin: 'http://evil.example', 'Content-Type': 'application/json' }, body: '{"target":"alert:ALR-001","label":"unsure"}' });
  assert.equal(cross.status, 403);
  await ctx.close();
});

// Every action of the rights table, with ids that do not exist: a role that may
// act gets past the rights check (404/400/409), one that may not gets 403 "rights".
const ACTIONS = [
  ['POST', '/v1/console/reports', { period: 'bad period!' }, ['steering']],
  ['POST', '/v1/console/alerts/NOPE/ack', {}, ['operator']],
  ['POST', '/v1/console/alerts/NOPE/resolve', {}, ['operator']],
  ['POST', '/v1/console/incidents/NOPE/ack', {}, ['operator']],
  ['POST', '/v1/console/incidents/NOPE/resolve', {}, ['operator']],
  ['POST', '/v1/console/labels', { target: 'alert:NOPE', label: 'unsure' }, ['operator']],
  ['POST', '/v1/console/quarantine/replay', null, ['operator']],
  ['POST', '/v1/console/changes', { change_id: 'X', target: 'nope' }, ['data-scientist']],
  ['POST', '/v1/console/changes/NOPE/consult', {}, ['data-scientist', 'approver']],
  ['POST', '/v1/console/changes/NOPE/approve', {}, ['approver']],
  ['POST', '/v1/console/changes/NOPE/reject', {}, ['approver']],
  ['POST', '/v1/agents/nope/revoke', {}, ['admin']],
  ['GET', '/v1/console/steering', null, ['steering']],
  ['GET', '/v1/console/operations', null, ['operator']],
  ['GET', '/v1/console/models', null, ['data-scientist', 'approver']],
  ['GET', '/v1/console/people', null, ['admin']],
  ['GET', '/v1/findings', null, ['auditor']],
  ['GET', '/v1/events', null, ['auditor']],
  ['GET', '/v1/reports/2026-Q3?format=csv', null, ['steering', 'auditor']], // reading records nothing
  ['POST', '/v1/reports/2026-Q3', null, []], // issuing from the console is its own action above
];
const PEOPLE = { erin: ['steering'], frank: ['auditor'], grace: ['operator'], alice: ['operator', 'approver'], carol: ['data-scientist', 'approver'], bob: ['admin'] };

test('roles x actions: every cell tried, nothing possible outside a role\'s rights', async () => {
  let outside = 0, tried = 0;
  const table = [];
  for (const [name, roles] of Object.entries(PEOPLE)) {
    const { ctx, page } = await signIn(name);
    const row = [];
    for (const [method, path, body, allowed] of ACTIONS) {
      if (path === '/v1/console/quarantine/replay' && roles.some(r => allowed.includes(r))) { row.push('-'); continue; } // a real replay: done below
      const r = await call(page, method, path, body);
      tried++;
      const may = roles.some(r2 => allowed.includes(r2));
      const refusedByRights = r.status === 403 && /rights of your console roles/.test(r.body?.message || '');
      if (!may && !refusedByRights) outside++;
      if (may) assert.ok(!refusedByRights, `${name} (${roles}) should get past the rights check on ${method} ${path}: ${r.status}`);
      else assert.ok(refusedByRights, `${name} (${roles}) must be refused ${method} ${path}, got ${r.status}`);
      row.push(`${r.status}`);
    }
    table.push(`${name.padEnd(6)} ${roles.join(',').padEnd(26)} ${row.join(' ')}`);
    await ctx.close();
  }
  console.log(`roles x actions (${tried} tried, ${outside} possible outside a role's rights):\n${table.join('\n')}`);
  assert.equal(outside, 0);
});

test('each person sees only their role\'s views', async () => {
  const want = { erin: ['steering'], frank: ['auditor'], grace: ['operator'], alice: ['operator', 'models'], carol: ['models'], bob: ['admin'] };
  for (const [name, views] of Object.entries(want)) {
    const { ctx, page } = await signIn(name);
    const got = await page.$$eval('#nav button', bs => bs.map(b => b.dataset.view));
    assert.deepEqual(got.sort(), views.sort(), `${name}'s views`);
    await ctx.close();
  }
});

function witnessCosign(note, name, keyPair, when) {
  // C2SP tlog-cosignature cosignature/v1 over the checkpoint body.
  const body = note.slice(0, note.indexOf('\n\n') + 1);
  const raw = keyPair.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(name), Buffer.from([0x0a, 0x04]), raw])).digest().subarray(0, 4);
  const ts = Buffer.alloc(8); ts.writeBigUInt64BE(BigInt(when));
  const sig = sign(null, Buffer.concat([Buffer.from(`cosignature/v1\ntime ${when}\n`), Buffer.from(body)]), keyPair.privateKey);
  const vkey = `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([0x04]), raw]).toString('base64')}`;
  return { line: `\u2014 ${name} ${Buffer.concat([id, ts, sig]).toString('base64')}\n`, vkey };
}

test('auditor: a proof verifies in the page, and fails once a byte of the entry is changed', async () => {
  const { ctx, page } = await signIn('frank');
  await page.click('[data-tab="Pinned keys"]');
  const witness = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const cp = await (await fetch(`${URL}/v1/log/checkpoint`)).text();
  const good = witnessCosign(cp, 'witness.example/w1', witness, 1780000000);
  const impostor = witnessCosign(cp, 'witness.example/w1', other, 1780000000);
  await page.fill('#pin-keys', `${LOG_KEY}\n${good.vkey}`);
  await page.click('#pin-save');
  await page.waitForSelector('#pin-msg:text("Pinned")');
  // The daemon's checkpoint does not carry this witness yet: serve it cosigned.
  let cosign = good.line, tamper = false;
  await page.route('**/v1/log/checkpoint', async route => {
    const r = await route.fetch();
    const t = await r.text();
    await route.fulfill({ response: r, body: t.includes('\n\n') ? t + cosign : t });
  });
  await page.route('**/v1/log/entries/*', async route => {
    const r = await route.fetch();
    const j = await r.json();
    if (tamper) {
      const b = Buffer.from(j.leaf, 'base64');
      b[Math.floor(b.length / 2)] ^= 0x01;
      j.leaf = b.toString('base64');
    }
    await route.fulfill({ response: r, json: j });
  });
  const verify = async i => {
    await page.fill('#proof-index', String(i));
    await page.click('#proof-go');
    const v = await page.waitForSelector('#proof-out [data-verdict]');
    return { verdict: await v.getAttribute('data-verdict'), ms: Number(await v.getAttribute('data-ms')), text: await page.textContent('#proof-out') };
  };
  const ok = await verify(5);
  assert.equal(ok.verdict, 'verified', ok.text);
  assert.match(ok.text, /cosignature by witness witness\.example\/w1/);
  timings.push(`proof of entry 5 verified in the browser in ${ok.ms.toFixed(2)} ms (SHA-256, audit path, log signature, 1 cosignature)`);
  const many = [];
  for (const i of [0, 17, 200, 1000]) many.push((await verify(i)).ms);
  timings.push(`proofs of entries 0, 17, 200, 1000: ${many.map(m => m.toFixed(2)).join(', ')} ms`);
  await shot(page, 'auditor-proof-verified');
  tamper = true;
  const bad = await verify(5);
  assert.equal(bad.verdict, 'failed');
  assert.match(bad.text, /recomputed root differs/);
  await shot(page, 'auditor-proof-tampered');
  tamper = false;
  cosign = impostor.line;
  const badw = await verify(5);
  assert.equal(badw.verdict, 'failed', 'a cosignature by another key does not count');
  await ctx.close();
});

test('operator labels an alert (a person event in the ledger); the RACI refuses what the policy does not give', async () => {
  const { ctx, page } = await signIn('grace');
  await page.waitForSelector('#alerts');
  await page.selectOption('[data-label-for="alert:ALR-002"]', 'false_alarm');
  await page.fill('[data-comment-for="alert:ALR-002"]', 'sensor recalibrated, no drift on the line');
  await page.click('[data-action="label:alert:ALR-002"]');
  await page.waitForSelector('#toast:text("recorded as label.set")');
  const labels = await ledgerEvents('label.set');
  const mine = labels.find(e => e.leaf.payload.target === 'alert:ALR-002');
  assert.ok(mine, 'label.set in the ledger');
  assert.equal(mine.leaf.writer, 'person');
  assert.equal(mine.leaf.payload.actor, 'grace');
  assert.equal(mine.leaf.payload.label, 'false_alarm');
  assert.equal(mine.leaf.payload.activity, 'data:telemetry');
  // a model's drift alert is about no reading: the label covers none
  assert.equal(mine.leaf.payload.device, undefined);
  await page.waitForSelector('[data-alert="ALR-002"] [data-covers="none"]');
  // the drift alert belongs to model:failure-predictor, where grace is neither R nor A
  const ack = await call(page, 'POST', '/v1/console/alerts/ALR-002/ack', {});
  assert.equal(ack.status, 403);
  assert.match(ack.body.message, /neither Responsible nor Accountable/);
  // grace asks for the replay (her own event, writer person); the pipeline's
  // telemetry.batch stays auditd's and cites her request
  const rep = await call(page, 'POST', '/v1/console/quarantine/replay', {});
  assert.equal(rep.status, 201, JSON.stringify(rep.body));
  assert.equal(rep.body.recorded, 'quarantine.replay');
  const ask = (await ledgerEvents('quarantine.replay')).find(e => e.index === rep.body.index);
  assert.equal(ask.leaf.writer, 'person');
  assert.equal(ask.leaf.payload.actor, 'grace');
  assert.ok(ask.leaf.payload.credential && ask.leaf.payload.pending > 0);
  const batch = (await ledgerEvents('telemetry.batch')).find(e => e.index === rep.body.replay.ledger_index);
  assert.equal(batch.leaf.writer, 'auditd');
  assert.equal(batch.leaf.payload.actor, 'auditd:pipeline');
  assert.equal(batch.leaf.payload.replay, true);
  assert.equal(batch.leaf.payload.request, rep.body.index);
  await page.reload();
  await page.waitForSelector('#alerts');
  await shot(page, 'operator');
  await ctx.close();
});

test('workflows: the drift alert opened a retraining request, the late alert went to the Accountable', async () => {
  for (let i = 0; i < 50 && !(await ledgerEvents('alert.escalate')).length; i++) await new Promise(r => setTimeout(r, 200));
  const esc = await ledgerEvents('alert.escalate');
  const raises = await ledgerEvents('alert.raise');
  assert.ok(esc.length >= 1);
  for (const e of esc) {
    assert.equal(e.leaf.writer, 'auditd');
    assert.equal(e.leaf.payload.to, 'carol');
    assert.ok(raises.some(r => r.index === e.leaf.payload.trigger), 'cites its trigger');
  }
  const rr = await ledgerEvents('retrain.request');
  assert.equal(rr.length, 1, 'one retraining request while one is pending');
  assert.deepEqual(rr[0].leaf.payload.assigned, ['carol']);
  assert.ok(raises.some(r => r.index === rr[0].leaf.payload.trigger));
});

test('approval: refused to anyone but the Accountable, and to her before the Consulted; then followed into the deployment gate', async () => {
  const a = await signIn('alice');
  const refusedAlice = await call(a.page, 'POST', '/v1/console/changes/CHG-ML-1/approve', {});
  assert.equal(refusedAlice.status, 403);
  assert.match(refusedAlice.body.message, /only the Accountable .* \(carol\)/);
  const g = await signIn('grace');
  const refusedGrace = await call(g.page, 'POST', '/v1/console/changes/CHG-ML-1/approve', {});
  assert.equal(refusedGrace.status, 403);
  await g.ctx.close();
  const c = await signIn('carol');
  const early = await call(c.page, 'POST', '/v1/console/changes/CHG-ML-1/approve', {});
  assert.equal(early.status, 409);
  assert.match(early.body.message, /alice must be consulted/);
  // alice records her consultation in the page
  await a.page.click('[data-view="models"]');
  await a.page.waitForSelector('[data-action="consult:CHG-ML-1"]');
  await a.page.click('[data-action="consult:CHG-ML-1"]');
  await a.page.waitForSelector('#toast:text("recorded as change.consult")');
  await a.ctx.close();
  await c.page.reload();
  await c.page.waitForSelector('[data-action="approve:CHG-ML-1"]');
  await shot(c.page, 'models-before-approval');
  await c.page.click('[data-action="approve:CHG-ML-1"]');
  await c.page.waitForSelector('#toast:text("recorded as change.approve")');
  const ap = (await ledgerEvents('change.approve')).find(e => e.leaf.payload.change_id === 'CHG-ML-1');
  assert.equal(ap.leaf.writer, 'person');
  assert.equal(ap.leaf.payload.actor, 'carol');
  assert.ok(ap.leaf.payload.credential);
  // the deployment gate accepts the approval the console recorded
  const out = execFileSync(process.env.AUDITD_BIN, ['model', 'deploy', 'failure-predictor', '--version', '1', '--actor', 'carol', '--change-id', 'CHG-ML-1'], { encoding: 'utf8' });
  assert.match(out + '', /deploy|index/i);
  await c.page.reload();
  await c.page.waitForSelector('#registry');
  await c.page.waitForSelector('#lineage');
  await shot(c.page, 'models');
  await c.ctx.close();
});

// The human-in-the-loop feedback loop, end to end: verdicts given in the console become
// ledger events, the truth of the next (labelled) dataset and training run, and the
// source of the report's precision and recall once there are enough of them.
test('feedback loop: operators\' labels flow into the ledger, the next dataset and training, and the report', async () => {
  const BIN = process.env.AUDITD_BIN;
  const run = args => execFileSync(BIN, args, { encoding: 'utf8', env: { ...process.env, AUDITD_DATA_DIR: `${W}/data` } });
  const kpiData = async () => {
    const r = await fetch(`${URL}/v1/reports/2026-Q3?format=json`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    return r.json();
  };
  // three more days of readings, scored at ingestion by the model deployed above (the
  // command line ingests into the same store; the daemon's scorer looks for a newly
  // deployed model only every 15 s)
  run(['telemetry', 'ingest', `${W}/sim2/telemetry.ndjson`, '--actor', 'gw-1', '--quiet']);
  const before = await kpiData();
  assert.equal(before.labels.precision, 'failure_label_field');
  assert.equal(before.labels.recall, 'failure_label_field');
  assert.equal(before.labels.min_operator_labels, 20);
  assert.equal(before.kpis.find(k => k.id === 'model_precision').label_source, 'failure_label_field');

  const g = await signIn('grace');
  await g.page.click('[data-view="operator"]');
  await g.page.waitForSelector('#predictions');
  const ops = (await call(g.page, 'GET', '/v1/console/operations')).body;
  assert.ok(ops.predictions.length >= 25, `predictions to label: ${ops.predictions.length}`);
  const preds = ops.predictions.slice(0, 25);
  // the first in the page, the others through the same API the page uses
  await g.page.selectOption(`[data-label-for="${preds[0].target}"]`, 'confirmed_failure');
  await g.page.fill(`[data-comment-for="${preds[0].target}"]`, 'spindle seized, replaced');
  await g.page.click(`[data-action="label:${preds[0].target}"]`);
  await g.page.waitForSelector('#toast:text("recorded as label.set")');
  const verdict = i => (i < 21 ? 'confirmed_failure' : 'false_alarm');
  for (let i = 1; i < preds.length; i++) {
    const r = await call(g.page, 'POST', '/v1/console/labels', { target: preds[i].target, label: verdict(i), comment: `check ${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.covers, { device: preds[i].device, reading_time: preds[i].reading_time });
  }
  // an unsure label and a withdrawn verdict count for nothing
  const extra = ops.predictions[25];
  if (extra) {
    await call(g.page, 'POST', '/v1/console/labels', { target: extra.target, label: 'confirmed_failure' });
    await call(g.page, 'POST', '/v1/console/labels', { target: extra.target, label: 'unsure', comment: 'not sure after all' });
  }
  await g.page.click('[data-view="operator"]');
  await g.page.waitForSelector(`#predictions [data-covers="reading"]`);
  assert.match(await g.page.textContent('#labels-feed'), /\(25 verdicts so far\)/);
  await shot(g.page, 'operator-labels');
  await g.ctx.close();

  // into the ledger: person events naming the reading each covers
  const labels = (await ledgerEvents('label.set')).filter(e => preds.some(p => p.target === e.leaf.payload.target));
  assert.equal(labels.length, 25);
  for (const e of labels) {
    assert.equal(e.leaf.writer, 'person');
    assert.equal(e.leaf.payload.actor, 'grace');
    const p = preds.find(x => x.target === e.leaf.payload.target);
    assert.equal(e.leaf.payload.device, p.device);
    assert.equal(e.leaf.payload.reading_time, p.reading_time);
  }

  // into the next dataset: its id pins these 25 verdicts
  const ds = JSON.parse(run(['dataset', 'define', '--from', '2026-07-01', '--to', '2026-07-19', '--labels']));
  assert.deepEqual([ds.labels.count, ds.labels.confirmed_failure, ds.labels.false_alarm], [25, 21, 4]);
  assert.notEqual(ds.dataset, ds.base);
  const def = (await ledgerEvents('dataset.define')).find(e => e.leaf.payload.dataset === ds.dataset);
  assert.equal(def.leaf.payload.base, ds.base);
  assert.equal(def.leaf.payload.labels.count, 25);
  const again = JSON.parse(run(['dataset', 'define', '--from', '2026-07-01', '--to', '2026-07-19', '--labels']));
  assert.equal(again.dataset, ds.dataset, 'the same verdicts give the same dataset');
  assert.equal(again.existed, true);
  // lineage proves every verdict the dataset pins
  const lin = JSON.parse(run(['lineage', ds.dataset, '--format', 'json']));
  const steps = lin.steps.filter(s => s.step === 'label');
  assert.equal(steps.length, 25);
  assert.ok(steps.every(s => s.verified === true && labels.some(e => e.index === s.index)));

  // into the training run: the verdicts replace the simulator's labels of their readings
  const tr = JSON.parse(run(['model', 'train', '--dataset', ds.dataset, '--name', 'failure-predictor', '--out', `${W}/fp-2.json`, '--json']));
  assert.deepEqual([tr.operator_labels.used, tr.operator_labels.confirmed_failure, tr.operator_labels.false_alarm], [25, 21, 4]);
  const text = run(['model', 'train', '--dataset', ds.dataset, '--name', 'failure-predictor', '--out', `${W}/fp-2b.json`]);
  assert.match(text, /operator labels: 25 used \(21 confirmed failures, 4 false alarms\)/);
  const mt = (await ledgerEvents('model.train')).filter(e => e.leaf.payload.dataset === ds.dataset);
  assert.equal(mt.length, 2);
  assert.equal(mt[0].leaf.payload.operator_labels.used, 25);

  // into the report: 25 verdicts on alarms and 21 confirmed failures, both >= 20, so
  // precision and recall come from them; the false-alarm rate stays the field's
  const after = await kpiData();
  assert.equal(after.labels.precision, 'operator_labels');
  assert.equal(after.labels.recall, 'operator_labels');
  assert.deepEqual([after.labels.operator_verdicts, after.labels.on_alarms, after.labels.confirmed_failures], [25, 25, 21]);
  const prec = after.kpis.find(k => k.id === 'model_precision');
  const rec = after.kpis.find(k => k.id === 'defect_detection_rate');
  assert.equal(prec.label_source, 'operator_labels');
  assert.equal(rec.label_source, 'operator_labels');
  assert.equal(after.kpis.find(k => k.id === 'false_alarm_rate').label_source, 'failure_label_field');
  // every labelled reading was an alarm: 21 confirmed of 25 alarms, 21 of 21 failures warned of
  assert.ok(Math.abs(prec.value - 84) < 1e-9, `precision ${prec.value}`);
  assert.equal(rec.value, 100);
  assert.notEqual(prec.value, before.kpis.find(k => k.id === 'model_precision').value);
  assert.equal(prec.inputs.current.find(t => t.id === 'operator_labels').value, 25);
  assert.equal(prec.previous.label_source, 'failure_label_field');
  const html = await (await fetch(`${URL}/v1/reports/2026-Q3?format=html`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
  assert.match(html, /Truth used: precision counts\s+the operators' verdicts/);

  // the steering committee sees the source beside the figures
  const e = await signIn('erin');
  await e.page.waitForSelector('[data-kpi="model_precision"] [data-label-source]');
  assert.equal(await e.page.getAttribute('[data-kpi="model_precision"] [data-label-source]', 'data-label-source'), 'operator_labels');
  await shot(e.page, 'steering-operator-labels');
  await e.ctx.close();
  // registered, the model trained on the verdicts traces back to each of them
  run(['model', 'register', `${W}/fp-2.json`, '--name', 'failure-predictor', '--version', '2', '--dataset', ds.dataset]);
  const c = await signIn('carol');
  await c.page.waitForSelector('#trainings [data-operator-labels="25"]');
  await c.page.selectOption('#lineage-model', 'failure-predictor@2');
  await c.page.waitForFunction(() => [...document.querySelectorAll('#lineage text')].filter(t => t.textContent.startsWith('label #')).length >= 5);
  await shot(c.page, 'models-trainings-lineage');
  await c.ctx.close();
});

test('every view loads, measured in the page; screenshots at 1280 px', async () => {
  for (const [name, view] of [['erin', 'steering'], ['frank', 'auditor'], ['grace', 'operator'], ['carol', 'models'], ['bob', 'admin']]) {
    const { ctx, page } = await signIn(name);
    const ms = [];
    for (let i = 0; i < 3; i++) {
      await page.evaluate(() => { delete document.body.dataset.ready; });
      const t0 = Date.now();
      await page.click(`[data-view="${view}"]`);
      await page.waitForFunction(v => document.body.dataset.ready === v, view);
      ms.push(Number(await page.getAttribute('#view', 'data-loaded-ms')));
      void t0;
    }
    timings.push(`view ${view} (${name}): ${ms.join(', ')} ms`);
    await shot(page, view);
    await ctx.close();
  }
});
