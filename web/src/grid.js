// The results grid: rows virtualized with TanStack Virtual (only the visible rows are
// in the DOM, so 100,000 rows stay responsive), sortable and resizable columns, cell
// selection with copy, and a detail panel that expands dynamic (JSON) values.

import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { el } from './dom.js';

const ROW_HEIGHT = 26;
const MIN_WIDTH = 48;
const MAX_INITIAL_WIDTH = 420;
const NUMERIC = new Set(['int', 'long', 'real', 'decimal']);

/** The text a cell shows (and copies): dynamic as JSON, null as empty. */
export function cellText(value, type) {
  if (value === null || value === undefined) return '';
  if (type === 'dynamic' || typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function compareValues(a, b, type) {
  if (a === b) return 0;
  if (a === null || a === undefined || a === '') return -1;
  if (b === null || b === undefined || b === '') return 1;
  if (NUMERIC.has(type)) {
    const x = Number(a);
    const y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  if (type === 'bool') return (a ? 1 : 0) - (b ? 1 : 0);
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  // Datetimes are ISO 8601 with 7 fraction digits: text order is time order.
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export class Grid {
  constructor(container, { onSelect } = {}) {
    this.container = container;
    this.onSelect = onSelect || (() => {});
    this.scroller = el('div', { class: 'grid-scroll', tabindex: '0', role: 'grid', 'aria-label': 'Query results' });
    this.header = el('div', { class: 'grid-header', role: 'row' });
    this.body = el('div', { class: 'grid-body', role: 'rowgroup' });
    this.scroller.append(this.header, this.body);
    container.replaceChildren(this.scroller);
    this.columns = [];
    this.rows = [];
    this.order = null; // row indexes in display order
    this.sort = null; // {col, dir}
    this.widths = [];
    this.selected = null; // {row (display index), col}
    this.virtualizer = new Virtualizer({
      count: 0,
      getScrollElement: () => this.scroller,
      estimateSize: () => ROW_HEIGHT,
      overscan: 12,
      paddingStart: ROW_HEIGHT, // the sticky header's height
      scrollPaddingStart: ROW_HEIGHT,
      observeElementRect,
      observeElementOffset,
      scrollToFn: elementScroll,
      onChange: () => this.renderRows(),
    });
    this.cleanup = this.virtualizer._didMount();
    this.virtualizer._willUpdate();
    this.scroller.addEventListener('click', (e) => this.onClick(e));
    this.scroller.addEventListener('keydown', (e) => this.onKey(e));
  }

  destroy() {
    this.cleanup();
  }

  /** Shows a result: columns [{name, type}], rows [[...]]. */
  setData(columns, rows) {
    this.columns = columns;
    this.rows = rows.slice();
    this.order = null;
    this.sort = null;
    this.selected = null;
    this.widths = columns.map((c, i) => this.initialWidth(c, i));
    this.container.classList.toggle('empty', columns.length === 0);
    this.renderHeader();
    this.virtualizer.setOptions({ ...this.virtualizer.options, count: rows.length });
    this.virtualizer._willUpdate();
    this.scroller.scrollTop = 0;
    this.scroller.scrollLeft = 0;
    this.virtualizer.measure();
    this.renderRows();
  }

  /** Adds rows that arrived later (a streamed answer); sorting waits for the end. */
  appendRows(rows) {
    const first = this.rows.length === 0;
    for (const r of rows) this.rows.push(r);
    if (first) {
      this.widths = this.columns.map((c, i) => this.initialWidth(c, i));
      this.renderHeader();
    }
    this.virtualizer.setOptions({ ...this.virtualizer.options, count: this.rows.length });
    this.virtualizer._willUpdate();
    this.virtualizer.measure();
    this.renderRows();
  }

  /** A width from the header and a sample of the rows (the first and the last). */
  initialWidth(col, i) {
    let chars = col.name.length + col.type.length + 4;
    const n = this.rows.length;
    const sample = n <= 400 ? this.rows : this.rows.slice(0, 200).concat(this.rows.slice(n - 200));
    for (const row of sample) chars = Math.max(chars, cellText(row[i], col.type).length);
    // Numbers further down may be longer than the sample's.
    if (NUMERIC.has(col.type)) chars = Math.max(chars, 9);
    return Math.max(MIN_WIDTH, Math.min(MAX_INITIAL_WIDTH, chars * 7.5 + 18));
  }

  totalWidth() {
    return this.widths.reduce((a, b) => a + b, 0);
  }

  rowAt(displayIndex) {
    return this.rows[this.order ? this.order[displayIndex] : displayIndex];
  }

  /** Rows in display (sorted) order, for export. */
  displayRows() {
    return this.order ? this.order.map((i) => this.rows[i]) : this.rows;
  }

  renderHeader() {
    const cells = this.columns.map((c, i) => {
      const sorted = this.sort && this.sort.col === i ? this.sort.dir : null;
      const cell = el(
        'div',
        {
          class: `grid-hcell${sorted ? ` sorted-${sorted}` : ''}`,
          role: 'columnheader',
          'data-col': String(i),
          'aria-sort': sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none',
          title: `${c.name} (${c.type}) · click to sort`,
        },
        el('span', { class: 'grid-hname' }, c.name),
        el('span', { class: 'grid-htype' }, c.type),
        el('span', { class: 'grid-sort' }, sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : ''),
        el('span', { class: 'grid-resize', 'data-resize': String(i), title: 'Drag to resize' }),
      );
      cell.style.width = `${this.widths[i]}px`;
      return cell;
    });
    this.header.replaceChildren(...cells);
    this.header.style.width = `${this.totalWidth()}px`;
    for (const handle of this.header.querySelectorAll('.grid-resize')) {
      handle.addEventListener('pointerdown', (e) => this.startResize(e, Number(handle.dataset.resize)));
      handle.addEventListener('click', (e) => e.stopPropagation());
    }
  }

  renderRows() {
    const v = this.virtualizer;
    const items = v.getVirtualItems();
    const total = v.getTotalSize();
    this.body.style.height = `${Math.max(0, total - ROW_HEIGHT)}px`;
    this.body.style.width = `${this.totalWidth()}px`;
    const frag = document.createDocumentFragment();
    for (const item of items) {
      const row = this.rowAt(item.index);
      if (!row) continue;
      const r = document.createElement('div');
      r.className = item.index % 2 ? 'grid-row odd' : 'grid-row';
      r.setAttribute('role', 'row');
      r.dataset.row = String(item.index);
      r.style.transform = `translateY(${item.start - ROW_HEIGHT}px)`;
      for (let i = 0; i < this.columns.length; i++) {
        const c = this.columns[i];
        const d = document.createElement('div');
        const v2 = row[i];
        let cls = 'grid-cell';
        if (NUMERIC.has(c.type)) cls += ' num';
        if (v2 === null || v2 === undefined) cls += ' null';
        if (c.type === 'dynamic' && v2 !== null && typeof v2 === 'object') cls += ' json';
        if (this.selected && this.selected.row === item.index && this.selected.col === i) cls += ' selected';
        d.className = cls;
        d.setAttribute('role', 'gridcell');
        d.dataset.col = String(i);
        d.style.width = `${this.widths[i]}px`;
        const text = cellText(v2, c.type);
        d.textContent = text.length > 500 ? `${text.slice(0, 500)}…` : text;
        r.append(d);
      }
      frag.append(r);
    }
    this.body.replaceChildren(frag);
  }

  onClick(e) {
    const h = e.target.closest('.grid-hcell');
    if (h) {
      if (this.resizing || this.streaming) return;
      this.toggleSort(Number(h.dataset.col));
      return;
    }
    const cell = e.target.closest('.grid-cell');
    const row = e.target.closest('.grid-row');
    if (!cell || !row) return;
    this.select(Number(row.dataset.row), Number(cell.dataset.col));
    this.scroller.focus({ preventScroll: true });
  }

  select(row, col) {
    this.selected = { row, col };
    this.renderRows();
    const c = this.columns[col];
    this.onSelect({ column: c, value: this.rowAt(row)[col], text: cellText(this.rowAt(row)[col], c.type), row });
  }

  selectedText() {
    if (!this.selected) return null;
    const c = this.columns[this.selected.col];
    return cellText(this.rowAt(this.selected.row)[this.selected.col], c.type);
  }

  onKey(e) {
    if (!this.selected) return;
    const { row, col } = this.selected;
    const moves = { ArrowDown: [1, 0], ArrowUp: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if ((e.ctrlKey || e.metaKey) && e.key === 'c') {
      e.preventDefault();
      this.container.dispatchEvent(new CustomEvent('grid-copy', { bubbles: true, detail: this.selectedText() }));
    } else if (moves[e.key]) {
      e.preventDefault();
      const r = Math.max(0, Math.min(this.rows.length - 1, row + moves[e.key][0]));
      const c = Math.max(0, Math.min(this.columns.length - 1, col + moves[e.key][1]));
      this.select(r, c);
      this.virtualizer.scrollToIndex(r);
    }
  }

  toggleSort(col) {
    const dir = !this.sort || this.sort.col !== col ? 'asc' : this.sort.dir === 'asc' ? 'desc' : null;
    this.sort = dir ? { col, dir } : null;
    if (!dir) {
      this.order = null;
    } else {
      const type = this.columns[col].type;
      const idx = Array.from(this.rows.keys());
      const sign = dir === 'asc' ? 1 : -1;
      // Stable: ties keep the query's order.
      idx.sort((a, b) => sign * compareValues(this.rows[a][col], this.rows[b][col], type) || a - b);
      this.order = idx;
    }
    this.selected = null;
    this.renderHeader();
    this.renderRows();
  }

  startResize(e, col) {
    e.preventDefault();
    e.stopPropagation();
    const startX = e.clientX;
    const start = this.widths[col];
    const move = (ev) => {
      this.widths[col] = Math.max(MIN_WIDTH, start + ev.clientX - startX);
      this.updateWidths();
    };
    document.addEventListener('pointermove', move);
    this.resizing = true;
    const up = () => {
      document.removeEventListener('pointermove', move);
      // The click that ends a drag is not a sort.
      setTimeout(() => {
        this.resizing = false;
      }, 0);
    };
    document.addEventListener('pointerup', up, { once: true });
  }

  updateWidths() {
    this.header.querySelectorAll('.grid-hcell').forEach((h, i) => {
      h.style.width = `${this.widths[i]}px`;
    });
    this.header.style.width = `${this.totalWidth()}px`;
    this.renderRows();
  }
}
