// CSV (RFC 4180, header row) and JSON (an array of objects, as the Defender API's
// `Results`) exports of the rows on screen, in their displayed order.

import { cellText } from './grid.js';

function csvField(text) {
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns, rows) {
  const out = [columns.map((c) => csvField(c.name)).join(',')];
  for (const row of rows) {
    out.push(columns.map((c, i) => csvField(cellText(row[i], c.type))).join(','));
  }
  return `${out.join('\r\n')}\r\n`;
}

export function toJson(columns, rows) {
  const objects = rows.map((row) => {
    const o = {};
    columns.forEach((c, i) => {
      o[c.name] = row[i];
    });
    return o;
  });
  return `${JSON.stringify(objects, null, 1)}\n`;
}

/** Saves `text` as a file through a download link (a blob: URL, never a server). */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function fileStamp(date = new Date()) {
  return date.toISOString().replace(/[:]/g, '').replace(/\..*$/, '');
}
