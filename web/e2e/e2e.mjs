// End-to-end test of the web hunting page: headless Chromium (Debian's `chromium`)
// driven by playwright-core against `clickhunt serve --demo`, once without keys and once
// with a keys file. Screenshots and the server logs go to target/e2e-artifacts/.
//
//   node web/e2e/e2e.mjs            (after `cargo build -p clickhunt`)
//
// Environment: CLICKHUNT_BIN (default target/debug/clickhunt), CHROMIUM (default
// /usr/bin/chromium), E2E_ARTIFACTS (default target/e2e-artifacts), E2E_README_SCREENSHOT
// (a path: also save the page screenshot for the README there).

import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, createWriteStream, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const BIN = process.env.CLICKHUNT_BIN || join(repo, 'target/debug/clickhunt');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.E2E_ARTIFACTS || join(repo, 'target/e2e-artifacts');
const TTFR_LIMIT_MS = 2000;

const SCHEMA_PAGE_EXAMPLE = [
  'UrlClickEvents',
  '// Phishing clicks that were allowed or clicked through',
  '| where ActionType == "ClickAllowed" or IsClickedThrough !="0"',
  '| where ThreatTypes has "Phish"',
  '| summarize by ReportId, IsClickedThrough, AccountUpn, NetworkMessageId, ThreatTypes, Timestamp',
];
const TIMECHART = ['UrlClickEvents', '| summarize count() by bin(Timestamp, 1d), ActionType', '| render timechart'];
const MISSPELLED = ['UrlClickEvents', '| where ActionTyp == "ClickBlocked"', '| take 10'];
const HUNDRED_K = [
  'range x from 1 to 100000 step 1',
  '| extend Url = strcat("https://example.com/p/", x), Even = x % 2 == 0',
];

mkdirSync(ARTIFACTS, { recursive: true });
const results = [];
const metrics = {};
const children = [];

function log(...a) {
  console.log(...a);
}

async function step(name, page, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    if (page) {
      await page.screenshot({ path: join(ARTIFACTS, `failed-${slug(name)}.png`) }).catch(() => {});
    }
  }
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function startServer(name, extra = []) {
  const port = await freePort();
  const args = ['serve', '--demo', '--demo-days', '7', '--demo-clicks-per-day', '400', '--listen', `127.0.0.1:${port}`, ...extra];
  const logFile = createWriteStream(join(ARTIFACTS, `server-${name}.log`));
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'info' } });
  child.stdout.pipe(logFile);
  child.stderr.pipe(logFile);
  children.push(child);
  let exited = null;
  child.on('exit', (code) => {
    exited = code;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited !== null) throw new Error(`clickhunt serve exited with ${exited}; see server-${name}.log`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error('clickhunt serve did not come up in 180 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, child };
}

function stopServer(s) {
  if (s && s.child.exitCode === null) s.child.kill('SIGTERM');
}

/** Runs a query through the page's API from here (no browser), for expectations. */
async function apiQuery(url, query, { key, timespan = 'P30D' } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(`${url}/api/web/query`, { method: 'POST', headers, body: JSON.stringify({ query, timespan }) });
  const body = await r.json();
  if (!r.ok) throw new Error(`${query}: ${JSON.stringify(body)}`);
  return body;
}

async function newPage(browser, errors) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  return page;
}

const editor = (page) => page.locator('.cm-content');

/** Clears the editor and types `lines` as a user would (completion popups closed). */
async function typeQuery(page, lines) {
  await editor(page).click();
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Enter');
    }
    await page.keyboard.type(lines[i]);
  }
  await page.keyboard.press('Escape');
}

async function waitDone(page, timeout = 60_000) {
  await page.waitForFunction(
    () => ['done', 'error', 'cancelled'].includes(document.querySelector('#status').dataset.state),
    null,
    { timeout },
  );
  return page.evaluate(() => ({ ...document.querySelector('#status').dataset, text: document.querySelector('#status').textContent }));
}

async function gridHeader(page) {
  return page.$$eval('.grid-hcell .grid-hname', (els) => els.map((e) => e.textContent));
}

async function openTabWith(page, lines) {
  await page.click('#tab-new');
  await typeQuery(page, lines);
}

async function withoutKeys(browser) {
  let server;
  const errors = [];
  let page;
  await step('server starts with demo data (no keys)', null, async () => {
    server = await startServer('open');
  });
  if (!server) return;
  const { url } = server;
  page = await newPage(browser, errors);

  await step('page loads with its schema, no CSP violations', page, async () => {
    const resp = await page.goto(url);
    const csp = resp.headers()['content-security-policy'] || '';
    assert(csp.includes("script-src 'self'") && !csp.includes('unsafe'), `CSP: ${csp}`);
    await page.waitForSelector('#schema-tree details.table');
    const tables = await page.$$eval('#schema-tree summary .name', (els) => els.map((e) => e.textContent));
    assert(tables.includes('UrlClickEvents'), `tables: ${tables}`);
    const count = await page.$eval('#schema-tree details.table:has(.name[data-insert="UrlClickEvents"]) .count', (e) => e.textContent);
    assert(/^[\d,]+ rows$/.test(count) && count !== '0 rows', `UrlClickEvents row count: ${count}`);
    // The editor's styles arrived (CodeMirror's <style> carries the CSP nonce).
    const gutterBg = await page.$eval('.cm-gutters', (e) => getComputedStyle(e).backgroundColor);
    assert(gutterBg === 'rgb(246, 247, 249)', `editor theme not applied (CSP?): ${gutterBg}`);
  });

  await step('schema pane: clicking a column inserts its name', page, async () => {
    await page.click('#tab-new');
    await page.click('#schema-tree summary .name[data-insert="UrlClickEvents"]');
    await page.click('#schema-tree details.table:has(.name[data-insert="UrlClickEvents"]) > summary', { position: { x: 4, y: 8 } });
    await page.click('#schema-tree details.table[open] .name.col[data-insert="ActionType"]');
    const text = await editor(page).innerText();
    assert(text.includes('UrlClickEvents') && text.includes('ActionType'), `editor: ${text}`);
  });

  await step('completion offers operators and the schema\'s columns', page, async () => {
    await editor(page).click();
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Delete');
    await page.keyboard.type('UrlClickEvents | whe');
    // Enter accepts only once the option is the selected one; before that it is a newline.
    await page.waitForSelector('.cm-tooltip-autocomplete li[aria-selected="true"]:has-text("where")');
    await page.keyboard.press('Enter');
    await page.keyboard.type(' IsClicked');
    await page.waitForSelector('.cm-tooltip-autocomplete li[aria-selected="true"]:has-text("IsClickedThrough")');
    await page.keyboard.press('Enter');
    const text = await editor(page).innerText();
    assert(text === 'UrlClickEvents | where IsClickedThrough', `completed: ${text}`);
  });

  await step('schema page example runs with Shift+Enter and fills the grid', page, async () => {
    await typeQuery(page, SCHEMA_PAGE_EXAMPLE);
    const expected = await apiQuery(url, SCHEMA_PAGE_EXAMPLE.join('\n'));
    await page.keyboard.press('Shift+Enter');
    const st = await waitDone(page);
    assert(st.state === 'done', `status: ${st.text}`);
    assert(Number(st.rows) === expected.rowCount, `rows ${st.rows}, expected ${expected.rowCount}`);
    assert(expected.rowCount > 0, 'the demo data has phishing click-throughs');
    const header = await gridHeader(page);
    assert(header.join(',') === 'ReportId,IsClickedThrough,AccountUpn,NetworkMessageId,ThreatTypes,Timestamp', `header: ${header}`);
    const cells = await page.$$eval('.grid-row[data-row="0"] .grid-cell', (els) => els.map((e) => e.textContent));
    assert(cells.length === 6 && cells[4].includes('Phish'), `first row: ${cells}`);
    await page.screenshot({ path: join(ARTIFACTS, '01-schema-page-example.png') });
  });

  await step('cell copy and JSON expand', page, async () => {
    await page.click('.grid-row[data-row="0"] .grid-cell[data-col="2"]');
    const detail = await page.textContent('#cell-detail-name');
    assert(detail.startsWith('AccountUpn'), `detail: ${detail}`);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    await page.click('#cell-copy');
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    const cell = await page.textContent('.grid-row[data-row="0"] .grid-cell[data-col="2"]');
    assert(clip === cell && clip.includes('@'), `clipboard ${clip} vs cell ${cell}`);
    // A dynamic value opens as indented JSON.
    await page.click('#tab-new');
    await typeQuery(page, ['print Details = bag_pack("urls", dynamic(["https://a.example/", "https://b.example/"]), "n", 2)']);
    await page.keyboard.press('Shift+Enter');
    await waitDone(page);
    await page.click('.grid-row[data-row="0"] .grid-cell.json');
    const shown = await page.textContent('#cell-detail-value');
    const expected = JSON.stringify({ urls: ['https://a.example/', 'https://b.example/'], n: 2 }, null, 2);
    assert(shown === expected, `expanded: ${shown}`);
    await page.screenshot({ path: join(ARTIFACTS, '01b-json-expanded.png') });
  });

  await step('timechart: one series per ActionType', page, async () => {
    await openTabWith(page, TIMECHART);
    const types = await apiQuery(url, 'UrlClickEvents | distinct ActionType | order by ActionType asc');
    const expected = types.rows.map((r) => r[0]);
    assert(expected.length >= 3, `demo ActionTypes: ${expected}`);
    await page.keyboard.press('Control+Enter');
    const st = await waitDone(page);
    assert(st.state === 'done', `status: ${st.text}`);
    await page.waitForSelector('#chart:not(.hidden) canvas');
    const series = JSON.parse(await page.getAttribute('#chart', 'data-series'));
    assert(
      JSON.stringify([...series].sort()) === JSON.stringify(expected),
      `series ${series} vs ActionTypes ${expected}`,
    );
    assert((await page.getAttribute('#chart', 'data-chart-kind')) === 'timechart', 'chart kind');
    await page.waitForSelector('#toast.hidden', { state: 'attached' });
    await page.screenshot({ path: join(ARTIFACTS, '02-timechart.png') });
    if (process.env.E2E_README_SCREENSHOT) {
      copyFileSync(join(ARTIFACTS, '02-timechart.png'), process.env.E2E_README_SCREENSHOT);
    }
    // The toggle shows the same result as a table.
    await page.click('#view-table');
    await page.waitForSelector('#grid:not(.hidden) .grid-row');
    const header = await gridHeader(page);
    assert(header.join(',') === 'Timestamp,ActionType,count_', `header: ${header}`);
    await page.click('#view-chart');
    await page.waitForSelector('#chart:not(.hidden) canvas');
  });

  await step('other chart kinds and render properties', page, async () => {
    await typeQuery(page, [
      'UrlClickEvents',
      '| summarize Clicks = count() by ActionType',
      '| render columnchart with (title="Clicks by action", kind=stacked)',
    ]);
    await page.keyboard.press('Shift+Enter');
    await waitDone(page);
    await page.waitForSelector('#chart:not(.hidden) canvas');
    const label = await page.getAttribute('#chart canvas', 'aria-label');
    assert(label.startsWith('columnchart: 1 series'), `label: ${label}`);
    await typeQuery(page, ['UrlClickEvents', '| summarize Clicks = count() by ActionType', '| render piechart']);
    await page.keyboard.press('Shift+Enter');
    await waitDone(page);
    await page.waitForSelector('#chart[data-chart-kind="piechart"] canvas');
    await page.screenshot({ path: join(ARTIFACTS, '03-piechart.png') });
  });

  await step('misspelled column: the error is marked at that column', page, async () => {
    await openTabWith(page, MISSPELLED);
    await page.keyboard.press('Shift+Enter');
    const st = await waitDone(page);
    assert(st.state === 'error', `status: ${st.text}`);
    await page.waitForSelector('.cm-lintRange-error');
    const marked = await page.$$eval('.cm-lintRange-error', (els) => els.map((e) => e.textContent).join(''));
    assert(marked === 'ActionTyp', `marked: '${marked}'`);
    const line = await page.$eval('.cm-lintRange-error', (e) => e.closest('.cm-line').textContent);
    assert(line.includes('| where ActionTyp =='), `line: ${line}`);
    const banner = await page.textContent('#error');
    assert(banner.includes('ActionTyp') && banner.includes('line 2, column 9'), `banner: ${banner}`);
    await page.screenshot({ path: join(ARTIFACTS, '04-error-marked.png') });
  });

  await step('statement under the cursor runs (blank-line separated)', page, async () => {
    await typeQuery(page, ['print a = 1', '', 'print b = 2']);
    // The cursor is on the second statement.
    await page.keyboard.press('Shift+Enter');
    await waitDone(page);
    assert((await gridHeader(page)).join(',') === 'b', 'ran the statement under the cursor');
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+Enter');
    await waitDone(page);
    assert((await gridHeader(page)).join(',') === 'a', 'ran the first statement');
  });

  await step('the time range filters the tables like Graph\'s Timespan', page, async () => {
    const countWith = async (value) => {
      await page.selectOption('#timespan', value);
      await typeQuery(page, ['UrlClickEvents | count']);
      await page.keyboard.press('Shift+Enter');
      const st = await waitDone(page);
      assert(st.state === 'done', `status: ${st.text}`);
      return Number(await page.textContent('.grid-row[data-row="0"] .grid-cell'));
    };
    const all = (await apiQuery(url, 'UrlClickEvents | count', { timespan: null })).rows[0][0];
    const lastDay = (await apiQuery(url, 'UrlClickEvents | count', { timespan: 'P1D' })).rows[0][0];
    assert(lastDay > 0 && lastDay < all, `demo data: ${lastDay} of ${all} in the last day`);
    assert((await countWith('P1D')) === lastDay, 'Last 24 hours');
    assert((await countWith('')) === all, 'Set in query');
    assert((await countWith('P30D')) === all, 'Last 30 days');
  });

  await step('export CSV and JSON', page, async () => {
    await typeQuery(page, ['UrlClickEvents', '| project Timestamp, AccountUpn, Url, ActionType', '| take 25']);
    await page.keyboard.press('Shift+Enter');
    await waitDone(page);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csvPath = join(ARTIFACTS, 'export.csv');
    await csv.saveAs(csvPath);
    const lines = readFileSync(csvPath, 'utf8').trimEnd().split('\r\n');
    assert(lines[0] === 'Timestamp,AccountUpn,Url,ActionType', `CSV header: ${lines[0]}`);
    assert(lines.length === 26, `CSV lines: ${lines.length}`);
    assert(/^\d{4}-\d\d-\d\dT/.test(lines[1]), `CSV row: ${lines[1]}`);
    assert(csv.suggestedFilename().endsWith('.csv'), csv.suggestedFilename());
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const jsonPath = join(ARTIFACTS, 'export.json');
    await json.saveAs(jsonPath);
    const rows = JSON.parse(readFileSync(jsonPath, 'utf8'));
    assert(rows.length === 25 && typeof rows[0].AccountUpn === 'string', 'JSON export');
  });

  await step('100,000 rows: first rows in under 2 s, scrolls, sorts', page, async () => {
    await openTabWith(page, HUNDRED_K);
    const t0 = Date.now();
    await page.keyboard.press('Shift+Enter');
    await page.waitForSelector('.grid-row[data-row="0"] .grid-cell', { timeout: 60_000 });
    const wall = Date.now() - t0;
    const st = await waitDone(page);
    assert(st.state === 'done' && st.rows === '100000', `status: ${st.text}`);
    const ttfr = Number(st.ttfrMs);
    metrics.ttfrMs = ttfr;
    metrics.ttfrWallMs = wall;
    metrics.serverMs = Number(st.elapsedMs);
    log(`     time to first rows: ${ttfr} ms in the page (${wall} ms seen by the test; server ${st.elapsedMs} ms)`);
    assert(ttfr < TTFR_LIMIT_MS, `time to first rows ${ttfr} ms`);
    assert(await page.isHidden('#notice'), 'no truncation notice at exactly the limit');
    const domRows = await page.$$eval('.grid-row', (els) => els.length);
    assert(domRows < 200, `virtualized: ${domRows} rows in the DOM`);
    // Scroll to the middle and the end; each lands within a frame or two.
    for (const [target, row] of [[0.5, 50000], [1, 99999]]) {
      const ms = await page.evaluate(async (f) => {
        const s = document.querySelector('.grid-scroll');
        const t = performance.now();
        s.scrollTop = f * (s.scrollHeight - s.clientHeight);
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return performance.now() - t;
      }, target);
      const last = await page.$$eval('.grid-row', (els) => els.map((e) => Number(e.dataset.row)));
      assert(last.some((r) => Math.abs(r - row) < 40), `after scrolling to ${target}: rows ${last.slice(0, 3)}…`);
      assert(ms < 500, `a scroll took ${ms} ms`);
    }
    await page.screenshot({ path: join(ARTIFACTS, '05-100k-rows-scrolled.png') });
    // Resize the Url column by dragging its header's edge.
    const handle = await page.$('.grid-hcell[data-col="1"] .grid-resize');
    const box = await handle.boundingBox();
    const before = await page.$eval('.grid-hcell[data-col="1"]', (e) => e.getBoundingClientRect().width);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + 120, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const after = await page.$eval('.grid-hcell[data-col="1"]', (e) => e.getBoundingClientRect().width);
    const cell = await page.$eval('.grid-row .grid-cell[data-col="1"]', (e) => e.getBoundingClientRect().width);
    assert(after > before + 80 && Math.abs(cell - after) < 1, `resize: ${before} → ${after} (cells ${cell})`);
    // Sort by x descending (two clicks): 100000 comes first.
    const sortMs = await page.evaluate(async () => {
      const header = () => document.querySelector('.grid-hcell[data-col="0"]');
      const t = performance.now();
      header().click();
      header().click();
      return performance.now() - t;
    });
    await page.evaluate(() => {
      document.querySelector('.grid-scroll').scrollTop = 0;
    });
    await page.waitForFunction(() => document.querySelector('.grid-row[data-row="0"] .grid-cell')?.textContent === '100000');
    metrics.sort100kMs = Math.round(sortMs);
    assert(sortMs < 2000, `sorting 100,000 rows took ${sortMs} ms`);
  });

  await step('over the row limit: truncation notice', page, async () => {
    await typeQuery(page, ['range x from 1 to 100050 step 1']);
    await page.keyboard.press('Shift+Enter');
    const st = await waitDone(page);
    assert(st.rows === '100000', `rows: ${st.rows}`);
    const notice = await page.textContent('#notice:not(.hidden)');
    assert(notice.includes('first 100,000 rows'), `notice: ${notice}`);
  });

  await step('cancel a running query: the server stops it', page, async () => {
    const inFlight = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^clickhunt_queries_in_flight (\d+)$/m.exec(text)[1]);
    };
    // A join with 10^9 result rows runs for minutes, in batches the server can stop
    // between (a join on one key would compute for seconds without yielding).
    await typeQuery(page, [
      'range x from 1 to 1000000 step 1 | extend k = x % 1000',
      '| join kind=inner (range y from 1 to 1000000 step 1 | extend k = y % 1000) on k',
      '| count',
    ]);
    await page.keyboard.press('Shift+Enter');
    await page.waitForSelector('#cancel:not(.hidden)');
    const deadline = Date.now() + 10_000;
    while ((await inFlight()) === 0) {
      assert(Date.now() < deadline, 'the query never started on the server');
      await page.waitForTimeout(100);
    }
    const tCancel = Date.now();
    await page.click('#cancel');
    const st = await waitDone(page, 10_000);
    assert(st.state === 'cancelled', `status: ${st.text}`);
    const stopBy = Date.now() + 10_000;
    while ((await inFlight()) !== 0) {
      assert(Date.now() < stopBy, 'the server still runs the cancelled query');
      await page.waitForTimeout(100);
    }
    metrics.cancelStoppedMs = Date.now() - tCancel;
    // The server's query threads are free again: a small query answers at once.
    await typeQuery(page, ['print ok = 1']);
    const tAgain = Date.now();
    await page.keyboard.press('Shift+Enter');
    const again = await waitDone(page, 30_000);
    assert(Date.now() - tAgain < 3000, `the next query waited ${Date.now() - tAgain} ms`);
    assert(again.state === 'done', `after cancel: ${again.text}`);
  });

  await step('saved query: save, list, shareable link opens it', page, async () => {
    await typeQuery(page, SCHEMA_PAGE_EXAMPLE);
    await page.click('#save');
    await page.fill('#save-name', 'Phish click-throughs');
    await page.click('#save-ok');
    await page.waitForSelector('.tab.active .tab-title:text("Phish click-throughs")');
    const list = await (await fetch(`${url}/api/web/saved`)).json();
    const q = list.queries.find((x) => x.name === 'Phish click-throughs');
    assert(q && q.query === SCHEMA_PAGE_EXAMPLE.join('\n'), `saved: ${JSON.stringify(list)}`);
    await page.click('.side-tabs [data-pane="saved"]');
    await page.waitForSelector(`#saved-list [data-open="${q.id}"]`);
    // A colleague opens the link in a fresh browser context.
    const other = await newPage(browser, errors);
    await other.goto(`${url}/#q=${q.id}`);
    await other.waitForSelector('.tab.active .tab-title:text("Phish click-throughs")');
    const text = await other.locator('.cm-content').innerText();
    assert(text.includes('ThreatTypes has "Phish"'), `opened: ${text}`);
    await other.context().close();
  });

  await step('tabs keep their text; history lists the runs', page, async () => {
    const tabs = await page.$$('.tab');
    assert(tabs.length >= 4, `tabs: ${tabs.length}`);
    await page.click('.tab >> nth=1');
    const text = await editor(page).innerText();
    assert(text.includes('UrlClickEvents'), `tab 2: ${text}`);
    await page.click('.side-tabs [data-pane="history"]');
    const items = await page.$$eval('#history-list .item', (els) => els.length);
    assert(items >= 8, `history items: ${items}`);
    await page.click('.side-tabs [data-pane="schema"]');
  });

  await step('no console errors other than the expected failures', page, async () => {
    const unexpected = errors.filter((e) => !/status of 400|Failed to load resource/.test(e));
    assert(unexpected.length === 0, `console: ${unexpected.join('\n')}`);
  });
  await page.context().close();
  stopServer(server);
}

async function withKeys(browser) {
  const dir = mkdtempSync(join(tmpdir(), 'clickhunt-e2e-'));
  const keys = join(dir, 'keys.json');
  let key;
  let server;
  await step('server starts with a keys file', null, async () => {
    key = execFileSync(BIN, ['keys', 'create', '--role', 'reader', '--keys', keys], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    assert(key.startsWith('chk_'), `key: ${key}`);
    server = await startServer('keys', ['--keys', keys]);
  });
  if (!server) return;
  const { url } = server;
  const errors = [];
  const page = await newPage(browser, errors);
  const authorized = [];
  page.on('request', (r) => {
    if (r.headers().authorization) authorized.push(r.url());
  });

  await step('keys: the page asks for a key after a 401', page, async () => {
    const unauth = await fetch(`${url}/api/web/schema`);
    assert(unauth.status === 401, `schema without key: ${unauth.status}`);
    await page.goto(url);
    await page.waitForSelector('#key-dialog[open]');
    await page.screenshot({ path: join(ARTIFACTS, '06-key-prompt.png') });
    await page.fill('#key-input', 'chk_wrong');
    await page.click('#key-ok');
    await page.waitForSelector('#key-dialog[open]');
    const msg = await page.textContent('#key-message');
    assert(msg.includes('not accepted'), `second prompt: ${msg}`);
    await page.fill('#key-input', key);
    await page.click('#key-ok');
    await page.waitForSelector('#schema-tree details.table');
    assert(!(await page.isVisible('#key-dialog')), 'the dialog closed');
  });

  await step('keys: queries run with the key, kept for the tab only', page, async () => {
    await typeQuery(page, ['UrlClickEvents', '| summarize count() by ActionType']);
    await page.keyboard.press('Shift+Enter');
    const st = await waitDone(page);
    assert(st.state === 'done' && Number(st.rows) >= 3, `status: ${st.text}`);
    const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('clickhunt.apiKey'), l: JSON.stringify(localStorage) }));
    assert(stored.s === key, 'the key is in sessionStorage');
    assert(!stored.l.includes(key), 'the key is not in localStorage');
    assert(authorized.length > 0 && authorized.every((u) => u.startsWith(`${url}/api/`)), `key sent to: ${authorized}`);
    await page.screenshot({ path: join(ARTIFACTS, '07-with-key.png') });
  });

  await step('keys: forgetting the key brings the prompt back', page, async () => {
    await page.click('#forget-key');
    await editor(page).click();
    await page.keyboard.press('Shift+Enter');
    await page.waitForSelector('#key-dialog[open]');
    await page.click('#key-dialog button[value="cancel"]');
    const st = await waitDone(page);
    assert(st.state === 'error', `status: ${st.text}`);
  });
  await page.context().close();
  stopServer(server);
  rmSync(dir, { recursive: true, force: true });
}

async function main() {
  const started = Date.now();
  const profile = mkdtempSync(join(tmpdir(), 'clickhunt-chromium-'));
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
      // Playwright gives every launch a fresh, temporary user-data-dir of its own.
      tracesDir: profile,
    });
    await withoutKeys(browser);
    await withKeys(browser);
  } catch (e) {
    results.push({ name: 'harness', ok: false, error: e });
    log(`FAIL harness: ${e && e.stack ? e.stack : e}`);
  } finally {
    await browser?.close().catch(() => {});
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`e2e: metrics ${JSON.stringify(metrics)}; ${((Date.now() - started) / 1000).toFixed(1)} s; artifacts in ${ARTIFACTS}`);
  log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
