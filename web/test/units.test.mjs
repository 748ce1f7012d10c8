// Unit tests of the page's pure parts (run with `node --test test/`): the streamed
// answer's scanner, chart planning, exports, and the editor's statement and error
// positions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EditorState } from '@codemirror/state';
import { RowScanner } from '../src/api.js';
import { planChart } from '../src/charts.js';
import { errorRange, statementAt } from '../src/editor.js';
import { toCsv, toJson } from '../src/export.js';

const answer = JSON.stringify({
  columns: [{ name: 'a', type: 'string' }, { name: 'd', type: 'dynamic' }],
  render: { kind: 'table', properties: { title: 'rows":[' } },
  rowCount: 3,
  rows: [['x]', { k: ['[', ']'] }], ['"q\\"', null], ['', [1, [2]]]],
});

test('the scanner yields the header, then every row, however the text is cut', () => {
  for (let size = 1; size <= answer.length; size += size < 20 ? 1 : 17) {
    const s = new RowScanner();
    let header = null;
    const rows = [];
    for (let i = 0; i < answer.length; i += size) {
      const out = s.push(answer.slice(i, i + size));
      if (out.header) header = out.header;
      rows.push(...out.rows);
    }
    assert.ok(s.closed, `closed (chunks of ${size})`);
    assert.equal(header.rowCount, 3);
    assert.deepEqual(header.rows, []);
    assert.equal(header.render.properties.title, 'rows":[');
    assert.deepEqual(rows, JSON.parse(answer).rows, `chunks of ${size}`);
  }
});

test('an empty result closes with no rows', () => {
  const s = new RowScanner();
  const out = s.push('{"columns":[],"rowCount":0,"rows":[]}');
  assert.equal(out.header.rowCount, 0);
  assert.deepEqual(out.rows, []);
  assert.ok(s.closed);
});

const cols = [
  { name: 'Timestamp', type: 'datetime' },
  { name: 'ActionType', type: 'string' },
  { name: 'count_', type: 'long' },
];
const rows = [
  ['2024-01-02T00:00:00.0000000Z', 'ClickAllowed', 5],
  ['2024-01-01T00:00:00.0000000Z', 'ClickAllowed', 3],
  ['2024-01-01T00:00:00.0000000Z', 'ClickBlocked', 1],
];

test('timechart: x is the datetime, one series per text value, points in time order', () => {
  const p = planChart(cols, rows, { kind: 'timechart', properties: {} });
  assert.equal(p.x.name, 'Timestamp');
  assert.deepEqual(p.datasets.map((d) => d.label), ['ClickAllowed', 'ClickBlocked']);
  assert.deepEqual(p.datasets[0].data.map((d) => d.y), [3, 5]);
  assert.ok(p.numericX);
});

test('columnchart with xcolumn, ycolumns, title and kind=stacked100', () => {
  const p = planChart(cols, rows, {
    kind: 'columnchart',
    properties: { xcolumn: 'ActionType', ycolumns: ['count_'], series: 'Timestamp', title: 'T', kind: 'stacked100' },
  });
  assert.deepEqual(p.labels, ['ClickAllowed', 'ClickBlocked']);
  assert.equal(p.datasets.length, 2);
  assert.ok(p.stacked && p.percent);
  assert.equal(p.title, 'T');
  // Per label the stacked shares add up to 100.
  for (let i = 0; i < p.labels.length; i++) {
    const total = p.datasets.reduce((a, d) => a + d.data[i], 0);
    assert.ok(Math.abs(total - 100) < 1e-9);
  }
  assert.throws(() => planChart(cols, rows, { kind: 'piechart', properties: { xcolumn: 'Nope' } }), /no column 'Nope'/);
  assert.throws(() => planChart([cols[1]], [['x']], { kind: 'barchart', properties: {} }), /no numeric column/);
});

test('CSV quotes what needs it; JSON keys rows by column', () => {
  const c = [{ name: 'a', type: 'string' }, { name: 'b', type: 'dynamic' }, { name: 'n', type: 'long' }];
  const csv = toCsv(c, [['x,"y"', { k: 1 }, null], ['plain', [1], 2]]);
  assert.equal(csv, 'a,b,n\r\n"x,""y""","{""k"":1}",\r\nplain,[1],2\r\n');
  assert.deepEqual(JSON.parse(toJson(c, [['p', { k: 1 }, 3]])), [{ a: 'p', b: { k: 1 }, n: 3 }]);
});

test('the statement under the cursor is its blank-line separated block', () => {
  const doc = 'print a = 1\n| extend b = 2\n\n\nT\n| take 1\n';
  const at = (pos) => statementAt(EditorState.create({ doc, selection: { anchor: pos } }));
  assert.equal(at(3).text, 'print a = 1\n| extend b = 2');
  assert.equal(at(doc.indexOf('T')).text, 'T\n| take 1');
  assert.equal(at(doc.indexOf('T')).from, doc.indexOf('T'));
  // On a blank line: the block above.
  assert.equal(at(doc.indexOf('\n\n') + 1).text, 'print a = 1\n| extend b = 2');
  const sel = statementAt(EditorState.create({ doc, selection: { anchor: 0, head: 5 } }));
  assert.equal(sel.text, 'print');
});

test('an error at line/column marks the word there, counting characters', () => {
  const doc = 'print 1\n\nT\n| where Ünïcode == "😀" and ActionTyp == "x"';
  const state = EditorState.create({ doc });
  const from = doc.indexOf('T\n');
  const line2 = '| where Ünïcode == "😀" and ActionTyp == "x"';
  // The server counts characters (code points); 😀 is two UTF-16 units.
  const column = Array.from(line2.slice(0, line2.indexOf('ActionTyp'))).length + 1;
  assert.equal(column, line2.indexOf('ActionTyp'));
  const r = errorRange(state, from, 2, column);
  assert.equal(doc.slice(r.from, r.to), 'ActionTyp');
  const first = errorRange(state, from, 1, 1);
  assert.equal(doc.slice(first.from, first.to), 'T');
});
