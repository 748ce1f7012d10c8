// Charts for queries that end in `render`, drawn with Chart.js. Which columns go where
// follows Kusto's rules: the x axis is `xcolumn` (else the first datetime column for a
// timechart, else the first column); the y values are `ycolumns` (else every numeric
// column that is not x); the series are `series` (else every other text column), one
// line or bar group per distinct series value. `kind=stacked` / `stacked100` stack them.

import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
} from 'chart.js';

Chart.register(
  ArcElement, BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController,
  LineElement, PieController, PointElement, ScatterController, Title, Tooltip,
);

export const CHART_KINDS = ['timechart', 'linechart', 'areachart', 'columnchart', 'barchart', 'piechart', 'scatterchart'];

const NUMERIC = new Set(['int', 'long', 'real', 'decimal']);
const PALETTE = ['#0f6cbd', '#e3008c', '#107c10', '#ff8c00', '#5c2e91', '#00b7c3', '#d13438', '#8a8886', '#986f0b', '#004e8c', '#c239b3', '#498205'];

function list(v) {
  if (v === undefined || v === null || v === '') return null;
  const items = Array.isArray(v) ? v : String(v).split(',');
  const names = items.map((s) => String(s).trim()).filter(Boolean);
  return names.length ? names : null;
}

function toNumber(v, type) {
  if (v === null || v === undefined || v === '') return null;
  if (type === 'datetime') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  if (type === 'timespan') return timespanSeconds(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** `[-][d.]hh:mm:ss[.fffffff]` → seconds. */
function timespanSeconds(text) {
  const m = /^(-)?(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(String(text));
  if (!m) return null;
  const s = Number(m[2] || 0) * 86400 + Number(m[3]) * 3600 + Number(m[4]) * 60 + Number(m[5]);
  return m[1] ? -s : s;
}

function label(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Decides the chart: which columns are x, y and series, and the datasets. Throws an
 * Error with a message for the user when the result cannot be drawn that way.
 */
export function planChart(columns, rows, render) {
  const kind = render.kind;
  const props = render.properties || {};
  const index = new Map(columns.map((c, i) => [c.name, i]));
  const need = (name) => {
    if (!index.has(name)) throw new Error(`render: there is no column '${name}' in the result`);
    return index.get(name);
  };
  let x;
  if (props.xcolumn) x = need(String(props.xcolumn));
  else if (kind === 'timechart') {
    x = columns.findIndex((c) => c.type === 'datetime');
    if (x < 0) x = 0;
  } else if (kind === 'scatterchart' || kind === 'linechart' || kind === 'areachart') {
    x = columns.findIndex((c) => NUMERIC.has(c.type) || c.type === 'datetime' || c.type === 'timespan');
    if (x < 0) x = 0;
  } else x = 0;
  if (columns.length === 0) throw new Error('render: the result has no columns');
  const seriesNames = list(props.series);
  const yNames = list(props.ycolumns);
  let series = seriesNames ? seriesNames.map(need) : null;
  let ys = yNames ? yNames.map(need) : null;
  if (!ys) {
    ys = columns
      .map((c, i) => i)
      .filter((i) => i !== x && NUMERIC.has(columns[i].type) && !(series || []).includes(i));
  }
  if (!series) {
    series = columns
      .map((c, i) => i)
      .filter((i) => i !== x && !ys.includes(i) && ['string', 'bool', 'guid'].includes(columns[i].type));
  }
  if (ys.length === 0) throw new Error(`render ${kind}: the result has no numeric column to draw`);
  const xType = columns[x].type;
  const numericX = ['timechart', 'linechart', 'areachart', 'scatterchart'].includes(kind)
    && (xType === 'datetime' || xType === 'timespan' || NUMERIC.has(xType));
  const groups = new Map();
  const labels = [];
  const labelIndex = new Map();
  for (const row of rows) {
    const key = series.map((s) => label(row[s])).join(' / ');
    let xv;
    if (numericX) {
      xv = toNumber(row[x], xType);
      if (xv === null) continue;
    } else {
      xv = label(row[x]);
      if (!labelIndex.has(xv)) {
        labelIndex.set(xv, labels.length);
        labels.push(xv);
      }
    }
    for (const y of ys) {
      const name = [key, ys.length > 1 || !key ? columns[y].name : null].filter(Boolean).join(' : ');
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push([xv, toNumber(row[y], columns[y].type)]);
    }
  }
  const datasets = [];
  for (const [name, points] of groups) {
    if (numericX) {
      points.sort((a, b) => a[0] - b[0]);
      datasets.push({ label: name, data: points.map(([px, py]) => ({ x: px, y: py })) });
    } else {
      const data = new Array(labels.length).fill(null);
      for (const [px, py] of points) data[labelIndex.get(px)] = (data[labelIndex.get(px)] || 0) + (py || 0);
      datasets.push({ label: name, data });
    }
  }
  const stacking = String(props.kind || '').toLowerCase();
  if (stacking === 'stacked100' && !numericX) {
    for (let i = 0; i < labels.length; i++) {
      const total = datasets.reduce((a, d) => a + Math.abs(d.data[i] || 0), 0);
      for (const d of datasets) d.data[i] = total ? ((d.data[i] || 0) / total) * 100 : 0;
    }
  }
  return {
    kind,
    x: columns[x],
    ys: ys.map((i) => columns[i]),
    series: series.map((i) => columns[i]),
    numericX,
    labels,
    datasets,
    stacked: stacking === 'stacked' || stacking === 'stacked100',
    percent: stacking === 'stacked100' && !numericX,
    title: props.title ? String(props.title) : null,
    xtitle: props.xtitle ? String(props.xtitle) : null,
    ytitle: props.ytitle ? String(props.ytitle) : null,
    legend: String(props.legend || '').toLowerCase() !== 'hidden',
  };
}

function formatTime(ms, spanMs) {
  const iso = new Date(ms).toISOString();
  if (spanMs > 3 * 86400000) return iso.slice(5, 10);
  if (spanMs > 86400000) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  return iso.slice(11, 19);
}

/** Draws `plan` into `container` (replacing what was there); returns the Chart. */
export function drawChart(container, plan) {
  const canvas = document.createElement('canvas');
  const described = `${plan.kind}: ${plan.datasets.length} series: ${plan.datasets.map((d) => d.label).join(', ')}`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', described);
  container.replaceChildren(canvas);
  container.dataset.chartKind = plan.kind;
  container.dataset.seriesCount = String(plan.datasets.length);
  container.dataset.series = JSON.stringify(plan.datasets.map((d) => d.label));
  const pie = plan.kind === 'piechart';
  const area = plan.kind === 'areachart';
  const horizontal = plan.kind === 'barchart';
  const datasets = pie
    ? [{
      label: plan.ys[0].name,
      data: plan.labels.map((_, i) => plan.datasets.reduce((a, d) => a + (d.data[i] || 0), 0)),
      backgroundColor: plan.labels.map((_, i) => PALETTE[i % PALETTE.length]),
    }]
    : plan.datasets.map((d, i) => ({
      ...d,
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: area ? `${PALETTE[i % PALETTE.length]}55` : PALETTE[i % PALETTE.length],
      fill: area ? (plan.stacked ? (i === 0 ? 'origin' : '-1') : 'origin') : false,
      pointRadius: plan.kind === 'scatterchart' ? 3 : d.data.length > 60 ? 0 : 2,
      borderWidth: plan.kind === 'scatterchart' ? 0 : 2,
      tension: 0,
      spanGaps: true,
    }));
  const xs = plan.numericX ? plan.datasets.flatMap((d) => d.data.map((p) => p.x)) : [];
  const span = xs.length ? Math.max(...xs) - Math.min(...xs) : 0;
  const timeX = plan.numericX && plan.x.type === 'datetime';
  const type = pie ? 'pie' : plan.kind === 'scatterchart' ? 'scatter' : ['columnchart', 'barchart'].includes(plan.kind) ? 'bar' : 'line';
  const options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    indexAxis: horizontal ? 'y' : 'x',
    parsing: plan.numericX ? true : undefined,
    plugins: {
      title: { display: Boolean(plan.title), text: plan.title || '' },
      legend: { display: plan.legend && (pie || plan.datasets.length > 1 || plan.series.length > 0), position: 'bottom' },
      tooltip: {
        callbacks: timeX
          ? { title: (items) => (items.length ? new Date(items[0].parsed.x).toISOString() : '') }
          : {},
      },
    },
    scales: pie
      ? {}
      : {
        [horizontal ? 'y' : 'x']: {
          type: plan.numericX ? 'linear' : 'category',
          stacked: plan.stacked,
          title: { display: true, text: plan.xtitle || plan.x.name },
          ticks: timeX ? { callback: (v) => formatTime(Number(v), span), maxRotation: 0, autoSkipPadding: 12 } : {},
        },
        [horizontal ? 'x' : 'y']: {
          type: 'linear',
          stacked: plan.stacked,
          beginAtZero: plan.kind !== 'scatterchart',
          max: plan.percent ? 100 : undefined,
          title: { display: true, text: plan.ytitle || (plan.percent ? '%' : plan.ys.map((c) => c.name).join(', ')) },
        },
      },
  };
  return new Chart(canvas, { type, data: { labels: plan.numericX ? undefined : plan.labels, datasets }, options });
}
