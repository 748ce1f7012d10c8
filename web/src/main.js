// The hunting page: tabs of queries, the editor, the schema pane, saved queries, history,
// and the results (grid or chart).

import './style.css';
import { api, ApiError, apiKey, onAuthRequired, setApiKey, streamQuery } from './api.js';
import { CHART_KINDS, drawChart, planChart } from './charts.js';
import { $, el } from './dom.js';
import { clearErrors, createEditor, editorExtensions, newEditorState, showError, statementAt } from './editor.js';
import { download, fileStamp, toCsv, toJson } from './export.js';
import { Grid } from './grid.js';
import { quoteName } from './kql.js';

const nonce = document.querySelector('meta[name="csp-nonce"]')?.content;
const cspNonce = nonce && !nonce.startsWith('__') ? nonce : undefined;

const TABS_KEY = 'clickhunt.tabs';
const HISTORY_KEY = 'clickhunt.history';
const HISTORY_MAX = 100;
const DEFAULT_TIMESPAN = 'P30D';
const EXAMPLE = `UrlClickEvents
| where Timestamp > ago(7d)
| summarize Clicks = count() by ActionType
| order by Clicks desc`;

// ---- persistent state --------------------------------------------------------------

function load(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key));
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the page still works */
  }
}

let schema = null;
const saved = load(TABS_KEY, null);
const state = {
  tabs: Array.isArray(saved?.tabs) && saved.tabs.length ? saved.tabs : [newTabData(EXAMPLE)],
  active: saved?.active,
};
if (!state.tabs.some((t) => t.id === state.active)) state.active = state.tabs[0].id;
/** Per tab, in memory only: editor state, result, running query. */
const live = new Map();

function newTabData(text = '', extra = {}) {
  return { id: Math.random().toString(36).slice(2, 10), text, timespan: DEFAULT_TIMESPAN, savedId: null, savedName: null, ...extra };
}

function saveTabs() {
  store(TABS_KEY, {
    active: state.active,
    tabs: state.tabs.map(({ id, text, timespan, savedId, savedName }) => ({ id, text, timespan, savedId, savedName })),
  });
}

const activeTab = () => state.tabs.find((t) => t.id === state.active);

// ---- editor ------------------------------------------------------------------------

const extensions = editorExtensions({
  onRun: () => runQuery(),
  onChange: (text) => {
    const tab = activeTab();
    tab.text = text;
    renderTabs();
    saveTabsSoon();
  },
  getSchema: () => schema,
  nonce: cspNonce,
});

let saveTimer = null;
function saveTabsSoon() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveTabs, 300);
}

function liveOf(tab) {
  if (!live.has(tab.id)) live.set(tab.id, { editor: newEditorState(tab.text, extensions), result: null, error: null, view: 'table', running: null });
  return live.get(tab.id);
}

const view = createEditor($('#editor'), liveOf(activeTab()).editor);

// ---- tabs --------------------------------------------------------------------------

function tabTitle(tab) {
  if (tab.savedName) return tab.savedName;
  const lines = tab.text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('//'));
  if (!lines.length) return 'New query';
  let title = lines[0];
  // A table name alone says little: add the first operator of the next line.
  const op = /^\|\s*([\w-]+)/.exec(lines[1] || '');
  if (/^[\w]+$/.test(title) && op) title += ` | ${op[1]}`;
  return title.length > 34 ? `${title.slice(0, 33)}…` : title;
}

function renderTabs() {
  const tabs = state.tabs.map((t) => {
    const running = live.get(t.id)?.running;
    return el(
      'div',
      { class: `tab${t.id === state.active ? ' active' : ''}`, role: 'tab', 'aria-selected': String(t.id === state.active), 'data-tab': t.id },
      el('span', { class: 'tab-title', title: tabTitle(t) }, running ? '⟳ ' : '', tabTitle(t)),
      state.tabs.length > 1 ? el('button', { type: 'button', class: 'tab-close', 'data-close': t.id, 'aria-label': 'Close tab', title: 'Close tab' }, '×') : null,
    );
  });
  $('#tabs').replaceChildren(...tabs);
}

function switchTab(id) {
  const current = activeTab();
  if (current) liveOf(current).editor = view.state;
  state.active = id;
  const tab = activeTab();
  view.setState(liveOf(tab).editor);
  setTimespanControl(tab.timespan);
  renderTabs();
  renderResults();
  saveTabs();
  view.focus();
}

function openTab(text, extra) {
  const tab = newTabData(text, extra);
  state.tabs.push(tab);
  switchTab(tab.id);
  return tab;
}

function closeTab(id) {
  const i = state.tabs.findIndex((t) => t.id === id);
  if (i < 0 || state.tabs.length === 1) return;
  live.get(id)?.running?.abort();
  live.delete(id);
  state.tabs.splice(i, 1);
  if (state.active === id) {
    state.active = null;
    const next = state.tabs[Math.min(i, state.tabs.length - 1)];
    state.active = next.id;
    view.setState(liveOf(next).editor);
    setTimespanControl(next.timespan);
    renderResults();
  }
  renderTabs();
  saveTabs();
}

$('#tabs').addEventListener('click', (e) => {
  const close = e.target.closest('[data-close]');
  if (close) {
    closeTab(close.dataset.close);
    return;
  }
  const t = e.target.closest('[data-tab]');
  if (t && t.dataset.tab !== state.active) switchTab(t.dataset.tab);
});
$('#tab-new').addEventListener('click', () => openTab(''));

/** Replaces the active tab's text (history, schema examples). */
function setEditorText(text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: text.length } });
  view.focus();
}

// ---- time range --------------------------------------------------------------------

function setTimespanControl(ts) {
  const select = $('#timespan');
  const known = [...select.options].some((o) => o.value === ts && o.value !== 'custom');
  if (ts && ts.includes('/')) {
    select.value = 'custom';
    const [a, b] = ts.split('/');
    $('#range-from').value = a.replace(/Z$/, '').slice(0, 16);
    $('#range-to').value = b.replace(/Z$/, '').slice(0, 16);
  } else {
    select.value = known ? ts : ts === '' ? '' : DEFAULT_TIMESPAN;
  }
  $('#custom-range').classList.toggle('hidden', select.value !== 'custom');
}

function readTimespan() {
  const v = $('#timespan').value;
  if (v !== 'custom') return v;
  const from = $('#range-from').value;
  const to = $('#range-to').value;
  if (!from || !to) return null;
  return `${from}:00Z/${to}:00Z`;
}

function onTimespanChange() {
  const select = $('#timespan');
  if (select.value === 'custom' && !$('#range-from').value) {
    const now = new Date();
    $('#range-to').value = now.toISOString().slice(0, 16);
    $('#range-from').value = new Date(now - 7 * 86400000).toISOString().slice(0, 16);
  }
  $('#custom-range').classList.toggle('hidden', select.value !== 'custom');
  const ts = readTimespan();
  if (ts !== null) {
    activeTab().timespan = ts;
    saveTabs();
  }
}
$('#timespan').addEventListener('change', onTimespanChange);
$('#range-from').addEventListener('change', onTimespanChange);
$('#range-to').addEventListener('change', onTimespanChange);

// ---- running -----------------------------------------------------------------------

const grid = new Grid($('#grid'), { onSelect: showCell });
let chart = null;

function setStatus(text, attrs = {}) {
  const s = $('#status');
  s.textContent = text;
  for (const k of ['state', 'rows', 'ttfrMs', 'elapsedMs']) delete s.dataset[k];
  Object.assign(s.dataset, attrs);
}

function fmtMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

async function runQuery() {
  const tab = activeTab();
  const l = liveOf(tab);
  const stmt = statementAt(view.state);
  if (!stmt || !stmt.text.trim()) {
    toast('Nothing to run: put the cursor in a query.');
    return;
  }
  const timespan = readTimespan();
  if (timespan === null) {
    toast('Choose both ends of the custom time range.');
    return;
  }
  l.running?.abort();
  const ctrl = new AbortController();
  l.running = ctrl;
  l.error = null;
  clearErrors(view);
  renderTabs();
  showRunning(true);
  setStatus('Running…', { state: 'running' });
  $('#error').classList.add('hidden');
  const t0 = performance.now();
  const active = () => tab.id === state.active;
  let firstRows = false;
  try {
    const header = await streamQuery(stmt.text, timespan || null, ctrl.signal, {
      onHeader: (h) => {
        if (l.running !== ctrl) return;
        l.result = { ...h, rows: [] };
        l.stmtFrom = stmt.from;
        l.ttfr = undefined;
        l.view = h.render && CHART_KINDS.includes(h.render.kind) ? 'chart' : 'table';
        grid.streaming = true;
        if (active()) renderResults();
      },
      onRows: (rows) => {
        if (l.running !== ctrl) return;
        for (const r of rows) l.result.rows.push(r);
        if (!active()) return;
        if (grid.owner === l.result) grid.appendRows(rows);
        setStatus(`Receiving… ${l.result.rows.length.toLocaleString('en-US')} of ${l.result.rowCount.toLocaleString('en-US')} rows`, { state: 'receiving' });
        if (!firstRows && l.view === 'table') {
          firstRows = true;
          // Time to first rows: until the browser has painted them.
          requestAnimationFrame(() => setTimeout(() => {
            l.ttfr = performance.now() - t0;
          }, 0));
        }
      },
    });
    if (l.running !== ctrl) return;
    l.running = null;
    grid.streaming = false;
    if (!l.result) l.result = { ...header, rows: [] };
    if (active()) renderResults();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    if (l.ttfr === undefined) l.ttfr = performance.now() - t0;
    if (active()) renderStatus(l);
    addHistory({ query: stmt.text, timespan, ok: true, rows: l.result.rowCount, ms: l.result.elapsedMs });
    // The schema may have failed before a key was given.
    if (!schema) loadSchema();
  } catch (e) {
    if (l.running !== ctrl) return;
    l.running = null;
    grid.streaming = false;
    if (e.name === 'AbortError') {
      l.error = { message: 'The query was cancelled.', cancelled: true };
    } else {
      l.error = e instanceof ApiError ? e : { message: String(e.message || e) };
      l.stmtFrom = stmt.from;
      addHistory({ query: stmt.text, timespan, ok: false, error: l.error.message });
    }
    l.result = null;
    if (active()) renderResults();
  } finally {
    if (l.running === ctrl) l.running = null;
    renderTabs();
    if (active()) showRunning(Boolean(l.running));
  }
}

function cancelQuery() {
  liveOf(activeTab()).running?.abort();
}

function showRunning(on) {
  $('#cancel').classList.toggle('hidden', !on);
  $('#run').disabled = on;
}

$('#run').addEventListener('click', () => runQuery());
$('#cancel').addEventListener('click', cancelQuery);

// ---- results -----------------------------------------------------------------------

function renderStatus(l) {
  const r = l.result;
  if (!r) return;
  const parts = [`${r.rowCount.toLocaleString('en-US')} ${r.rowCount === 1 ? 'row' : 'rows'}`, `query ${fmtMs(r.elapsedMs)}`];
  if (l.ttfr !== undefined) parts.push(`shown in ${fmtMs(l.ttfr)}`);
  setStatus(parts.join(' · '), {
    state: 'done',
    rows: String(r.rowCount),
    elapsedMs: String(r.elapsedMs),
    ...(l.ttfr !== undefined ? { ttfrMs: String(Math.round(l.ttfr)) } : {}),
  });
}

function renderResults() {
  const l = liveOf(activeTab());
  showRunning(Boolean(l.running));
  hideCell();
  const r = l.result;
  $('#export-csv').disabled = !r;
  $('#export-json').disabled = !r;
  const canChart = Boolean(r && r.render && CHART_KINDS.includes(r.render.kind));
  $('#view-chart').disabled = !canChart;
  const notice = $('#notice');
  notice.classList.toggle('hidden', !(r && r.truncated));
  if (r && r.truncated) {
    notice.textContent = `Showing the first ${r.rowLimit.toLocaleString('en-US')} rows: the result was cut at the row limit. Narrow the query (where, summarize, take) to see the rest.`;
  }
  const err = $('#error');
  if (l.error) {
    err.classList.remove('hidden');
    err.replaceChildren(
      el('strong', {}, l.error.cancelled ? 'Cancelled. ' : 'Query failed. '),
      l.error.message,
      l.error.line != null ? el('span', { class: 'muted' }, ` (line ${l.error.line}, column ${l.error.column})`) : null,
    );
    if (!l.error.cancelled && l.error.line != null) showError(view, l.stmtFrom ?? 0, l.error);
    setStatus(l.error.cancelled ? 'Cancelled' : 'Failed', { state: l.error.cancelled ? 'cancelled' : 'error' });
  } else {
    err.classList.add('hidden');
    if (!r && !l.running) setStatus('');
  }
  if (l.running && !r) setStatus('Running…', { state: 'running' });
  if (grid.owner !== r || !r) {
    grid.setData(r ? r.columns : [], r ? r.rows : []);
    grid.owner = r;
  }
  if (r && !l.running) renderStatus(l);
  // A chart waits for all its rows.
  grid.streaming = Boolean(l.running && r);
  if (l.running) setView('table', false);
  else setView(canChart ? l.view : 'table');
}

function setView(which, remember = true) {
  const l = liveOf(activeTab());
  if (remember) l.view = which;
  const chartOn = which === 'chart';
  $('#grid').classList.toggle('hidden', chartOn);
  $('#chart').classList.toggle('hidden', !chartOn);
  $('#view-table').classList.toggle('active', !chartOn);
  $('#view-chart').classList.toggle('active', chartOn);
  $('#view-table').setAttribute('aria-pressed', String(!chartOn));
  $('#view-chart').setAttribute('aria-pressed', String(chartOn));
  chart?.destroy();
  chart = null;
  const box = $('#chart');
  box.replaceChildren();
  for (const k of ['chartKind', 'seriesCount', 'series']) delete box.dataset[k];
  if (chartOn && l.result) {
    try {
      const plan = planChart(l.result.columns, l.result.rows, l.result.render);
      chart = drawChart(box, plan);
    } catch (e) {
      box.replaceChildren(el('p', { class: 'error' }, e.message));
    }
  }
}

$('#view-table').addEventListener('click', () => setView('table'));
$('#view-chart').addEventListener('click', () => setView('chart'));

function exportAs(kind) {
  const r = liveOf(activeTab()).result;
  if (!r) return;
  const rows = grid.displayRows();
  if (kind === 'csv') download(`clickhunt-${fileStamp()}.csv`, toCsv(r.columns, rows), 'text/csv;charset=utf-8');
  else download(`clickhunt-${fileStamp()}.json`, toJson(r.columns, rows), 'application/json');
}
$('#export-csv').addEventListener('click', () => exportAs('csv'));
$('#export-json').addEventListener('click', () => exportAs('json'));

// ---- cell detail and copy ----------------------------------------------------------

let selectedCell = null;
function showCell(cell) {
  selectedCell = cell;
  $('#cell-detail').classList.remove('hidden');
  $('#cell-detail-name').textContent = `${cell.column.name} (${cell.column.type}), row ${cell.row + 1}`;
  const v = cell.value;
  $('#cell-detail-value').textContent = v !== null && typeof v === 'object' ? JSON.stringify(v, null, 2) : cell.text;
}
function hideCell() {
  selectedCell = null;
  $('#cell-detail').classList.add('hidden');
}
$('#cell-close').addEventListener('click', hideCell);
$('#cell-copy').addEventListener('click', () => selectedCell && copyText(selectedCell.text));
$('#grid').addEventListener('grid-copy', (e) => e.detail !== null && copyText(e.detail));

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context (plain http off loopback): the old way.
    const ta = el('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  toast('Copied');
}

let toastTimer = null;
function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.classList.remove('hidden');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.add('hidden'), 2500);
}

// ---- schema pane -------------------------------------------------------------------

function insertName(name) {
  view.dispatch(view.state.replaceSelection(name));
  view.focus();
}

function renderSchema() {
  const tree = $('#schema-tree');
  if (!schema) return;
  const filter = $('#schema-filter').value.trim().toLowerCase();
  const items = [];
  for (const t of schema.tables) {
    const tableHit = !filter || t.name.toLowerCase().includes(filter);
    const cols = t.columns.filter((c) => tableHit || c.name.toLowerCase().includes(filter));
    if (!tableHit && cols.length === 0) continue;
    const rows = t.rows == null ? '' : `${Number(t.rows).toLocaleString('en-US')} rows`;
    const details = el(
      'details',
      { class: 'table', ...(filter ? { open: true } : {}) },
      el(
        'summary',
        {},
        el('button', { type: 'button', class: 'name', 'data-insert': quoteName(t.name), title: `Insert ${t.name}` }, t.name),
        el('span', { class: 'count' }, rows),
      ),
      el(
        'ul',
        {},
        cols.map((c) => el('li', {}, el('button', { type: 'button', class: 'name col', 'data-insert': quoteName(c.name), title: `Insert ${c.name}` }, c.name), el('span', { class: 'type' }, c.type))),
      ),
    );
    items.push(details);
  }
  tree.replaceChildren(...(items.length ? items : [el('p', { class: 'muted' }, 'No table or column matches.')]));
}

$('#schema-tree').addEventListener('click', (e) => {
  const b = e.target.closest('[data-insert]');
  if (!b) return;
  e.preventDefault();
  insertName(b.dataset.insert);
});
$('#schema-filter').addEventListener('input', renderSchema);

async function loadSchema() {
  try {
    schema = await api.schema();
    renderSchema();
  } catch (e) {
    $('#schema-tree').replaceChildren(el('p', { class: 'error' }, `The schema could not be loaded: ${e.message}`));
  }
}

// ---- side panes --------------------------------------------------------------------

document.querySelector('.side-tabs').addEventListener('click', (e) => {
  const b = e.target.closest('[data-pane]');
  if (!b) return;
  for (const x of document.querySelectorAll('.side-tabs [data-pane]')) {
    x.classList.toggle('active', x === b);
    x.setAttribute('aria-selected', String(x === b));
    $(`#pane-${x.dataset.pane}`).classList.toggle('hidden', x !== b);
  }
  if (b.dataset.pane === 'saved') loadSaved();
  if (b.dataset.pane === 'history') renderHistory();
});

// ---- history -----------------------------------------------------------------------

function addHistory(entry) {
  const list = load(HISTORY_KEY, []);
  list.unshift({ ...entry, at: new Date().toISOString() });
  store(HISTORY_KEY, list.slice(0, HISTORY_MAX));
  if (!$('#pane-history').classList.contains('hidden')) renderHistory();
}

function renderHistory() {
  const list = load(HISTORY_KEY, []);
  const items = list.map((h, i) =>
    el(
      'button',
      { type: 'button', class: `item${h.ok ? '' : ' failed'}`, 'data-history': String(i), title: h.query },
      el('span', { class: 'item-title' }, h.query.split('\n')[0].slice(0, 80)),
      el('span', { class: 'item-meta' }, `${h.at.replace('T', ' ').slice(0, 19)} · ${h.ok ? `${h.rows} rows · ${fmtMs(h.ms)}` : 'failed'}`),
    ),
  );
  $('#history-list').replaceChildren(...(items.length ? items : [el('p', { class: 'muted' }, 'Queries you run appear here.')]));
}

$('#history-list').addEventListener('click', (e) => {
  const b = e.target.closest('[data-history]');
  if (!b) return;
  const h = load(HISTORY_KEY, [])[Number(b.dataset.history)];
  if (!h) return;
  setEditorText(h.query);
  if (h.timespan !== undefined) {
    activeTab().timespan = h.timespan;
    setTimespanControl(h.timespan);
  }
});
$('#history-clear').addEventListener('click', () => {
  store(HISTORY_KEY, []);
  renderHistory();
});

// ---- saved queries -----------------------------------------------------------------

async function loadSaved() {
  const box = $('#saved-list');
  try {
    const { queries } = await api.savedList();
    const items = queries.map((q) =>
      el(
        'div',
        { class: 'item saved', 'data-saved': q.id },
        el('button', { type: 'button', class: 'item-open', 'data-open': q.id, title: q.query },
          el('span', { class: 'item-title' }, q.name),
          el('span', { class: 'item-meta' }, `${q.updated.replace('T', ' ').replace('Z', '')} · ${q.author}`)),
        el('button', { type: 'button', class: 'link item-delete', 'data-delete': q.id, title: `Delete ${q.name}`, 'aria-label': `Delete ${q.name}` }, 'Delete'),
      ),
    );
    box.replaceChildren(...(items.length ? items : [el('p', { class: 'muted' }, 'No saved queries yet. Use Save to share a hunt.')]));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, `Saved queries could not be loaded: ${e.message}`));
  }
}

async function openSaved(id) {
  try {
    const q = await api.savedGet(id);
    const existing = state.tabs.find((t) => t.savedId === q.id);
    if (existing) {
      switchTab(existing.id);
      setEditorText(q.query);
    } else {
      openTab(q.query, { savedId: q.id, savedName: q.name, timespan: q.timespan ?? '' });
    }
    activeTab().savedName = q.name;
    activeTab().timespan = q.timespan ?? '';
    setTimespanControl(activeTab().timespan);
    renderTabs();
    saveTabs();
  } catch (e) {
    toast(`The saved query could not be opened: ${e.message}`);
  }
}

$('#saved-list').addEventListener('click', async (e) => {
  const open = e.target.closest('[data-open]');
  if (open) {
    openSaved(open.dataset.open);
    return;
  }
  const del = e.target.closest('[data-delete]');
  if (del && window.confirm('Delete this saved query for everyone?')) {
    try {
      await api.savedDelete(del.dataset.delete);
      for (const t of state.tabs) if (t.savedId === del.dataset.delete) t.savedId = null;
      loadSaved();
    } catch (err) {
      toast(`Not deleted: ${err.message}`);
    }
  }
});

function askName(initial) {
  const dialog = $('#save-dialog');
  $('#save-name').value = initial || '';
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve(dialog.returnValue === 'ok' ? $('#save-name').value.trim() : null),
      { once: true },
    );
  });
}

async function saveQuery(asNew) {
  const tab = activeTab();
  tab.text = view.state.doc.toString();
  if (!tab.text.trim()) {
    toast('There is no query to save.');
    return null;
  }
  let name = tab.savedName;
  if (asNew || !tab.savedId) {
    name = await askName(asNew ? `${tabTitle(tab)} (copy)` : tabTitle(tab));
    if (!name) return null;
  }
  const body = { name, query: tab.text, timespan: tab.timespan || null };
  try {
    const q = asNew || !tab.savedId ? await api.savedCreate(body) : await api.savedUpdate(tab.savedId, body);
    tab.savedId = q.id;
    tab.savedName = q.name;
    renderTabs();
    saveTabs();
    toast(`Saved “${q.name}”`);
    if (!$('#pane-saved').classList.contains('hidden')) loadSaved();
    return q;
  } catch (e) {
    toast(`Not saved: ${e.message}`);
    return null;
  }
}

$('#save').addEventListener('click', () => saveQuery(false));
$('#save-as').addEventListener('click', () => saveQuery(true));
$('#share').addEventListener('click', async () => {
  let tab = activeTab();
  if (!tab.savedId && !(await saveQuery(false))) return;
  tab = activeTab();
  const link = `${location.origin}${location.pathname}#q=${encodeURIComponent(tab.savedId)}`;
  await copyText(link);
  toast(`Link copied: ${link}`);
});

function openFromHash() {
  const m = /^#q=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (m) openSaved(decodeURIComponent(m[1]));
}
window.addEventListener('hashchange', openFromHash);

// ---- auth --------------------------------------------------------------------------

let keyPrompt = null;
onAuthRequired(({ message, hadKey }) => {
  // One dialog for all the requests that got a 401 at the same time.
  if (keyPrompt) return keyPrompt;
  keyPrompt = new Promise((resolve) => {
    const dialog = $('#key-dialog');
    $('#key-message').textContent = hadKey ? `That key was not accepted: ${message}` : message;
    $('#key-input').value = '';
    dialog.returnValue = '';
    dialog.showModal();
    dialog.addEventListener(
      'close',
      () => {
        keyPrompt = null;
        const key = dialog.returnValue === 'ok' ? $('#key-input').value.trim() : '';
        renderAuth(key);
        resolve(key || null);
      },
      { once: true },
    );
  });
  return keyPrompt;
});

function renderAuth(key = apiKey()) {
  $('#auth-status').textContent = key ? 'Using an API key' : '';
  $('#forget-key').classList.toggle('hidden', !key);
}
$('#forget-key').addEventListener('click', () => {
  setApiKey('');
  renderAuth('');
  toast('The key is forgotten in this tab.');
});

// ---- start -------------------------------------------------------------------------

renderTabs();
setTimespanControl(activeTab().timespan);
renderResults();
renderAuth();
loadSchema().then(openFromHash);
view.focus();
