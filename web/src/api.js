// Calls to this server's API. The API key (when the server has keys) is kept in the
// tab's sessionStorage and sent only with requests to this page's own origin: every
// path must be absolute on this origin (`/api/...`), never a URL.

const KEY_STORAGE = 'clickhunt.apiKey';
/** The key when sessionStorage is unavailable. */
let memoryKey = '';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || null;
    this.line = e.line ?? null;
    this.column = e.column ?? null;
    this.help = e.help ?? null;
  }
}

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    /* storage disabled: the key lives for this page only */
  }
  memoryKey = key || '';
}


/** Asked for a key when the server answers 401; resolves to a key or null (cancelled). */
let askForKey = async () => null;
export function onAuthRequired(fn) {
  askForKey = fn;
}

function sameOriginPath(path) {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
    throw new Error(`refusing to call ${path}: only this origin's API is called`);
  }
  return path;
}

/**
 * `fetch` on this origin with the key; on 401 asks for a key and tries again. Returns
 * the Response of any other status.
 */
async function fetchWithKey(path, { method = 'GET', body, signal } = {}) {
  sameOriginPath(path);
  for (;;) {
    const headers = { Accept: 'application/json' };
    const key = apiKey() || memoryKey;
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    const resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
      referrerPolicy: 'no-referrer',
    });
    if (resp.status !== 401) return resp;
    const answer = await readJson(resp);
    const message = (answer && answer.error && answer.error.message) || 'This server needs an API key.';
    const next = await askForKey({ message, hadKey: Boolean(key) });
    if (!next) throw new ApiError(401, answer || { error: { message } });
    setApiKey(next);
  }
}

/** A JSON call: the parsed body (null for 204); throws ApiError on failure. */
export async function call(path, opts) {
  const resp = await fetchWithKey(path, opts);
  if (resp.status === 204) return null;
  const json = await readJson(resp);
  if (!resp.ok) throw new ApiError(resp.status, json);
  return json;
}

/**
 * Runs a query and hands over the answer as it arrives: `onHeader(answer)` with every
 * field but the rows, then `onRows(rows)` per received chunk of rows, so the first
 * rows show while the rest is still on the wire. Resolves to the header when done.
 */
export async function streamQuery(query, timespan, signal, { onHeader, onRows }) {
  const resp = await fetchWithKey('/api/web/query', { method: 'POST', body: { query, timespan }, signal });
  if (!resp.ok) throw new ApiError(resp.status, await readJson(resp));
  const scanner = new RowScanner();
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const { header, rows } = scanner.push(value);
    if (header) onHeader(header);
    if (rows.length) onRows(rows);
  }
  if (!scanner.header || !scanner.closed) throw new Error('The answer ended early (the connection was cut).');
  return scanner.header;
}

/**
 * Splits `{"columns":..., ..., "rows":[[...],[...],...]}` as it streams in: the header
 * (every field before `rows`, which the server writes last) and the complete rows so far.
 * It tracks JSON strings and nesting, so brackets inside values do not confuse it.
 */
export class RowScanner {
  constructor() {
    this.text = '';
    this.i = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.stringStart = -1;
    this.lastKey = null;
    this.header = null;
    this.rowsFrom = -1; // where unparsed rows start in `text`
    this.closed = false;
  }

  push(chunk) {
    this.text += chunk;
    let header = null;
    let lastRowEnd = -1;
    const t = this.text;
    for (let i = this.i; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92) this.escaped = true; // backslash
        else if (c === 34) {
          this.inString = false;
          if (this.depth === 1 && !this.header) this.lastKey = t.slice(this.stringStart + 1, i);
        }
        continue;
      }
      if (c === 34) {
        this.inString = true;
        this.stringStart = i;
      } else if (c === 91 || c === 123) {
        // [ or {
        if (c === 91 && this.depth === 1 && !this.header && this.lastKey === 'rows') {
          this.header = JSON.parse(`${t.slice(0, i)}[]}`);
          header = this.header;
          this.rowsFrom = i + 1;
        }
        this.depth++;
      } else if (c === 93 || c === 125) {
        // ] or }
        this.depth--;
        if (this.header && !this.closed) {
          if (this.depth === 2 && c === 93) lastRowEnd = i + 1;
          else if (this.depth === 1) this.closed = true;
        }
      }
    }
    let rows = [];
    if (lastRowEnd > 0) {
      const body = t.slice(this.rowsFrom, lastRowEnd).replace(/^\s*,/, '');
      rows = JSON.parse(`[${body}]`);
      // Keep only what is not parsed yet, with positions shifted to match.
      this.text = t.slice(lastRowEnd);
      this.i = this.text.length;
      this.rowsFrom = 0;
    } else {
      this.i = t.length;
    }
    return { header, rows };
  }
}

async function readJson(resp) {
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 500) } };
  }
}

export const api = {
  schema: () => call('/api/web/schema'),
  savedList: () => call('/api/web/saved'),
  savedGet: (id) => call(`/api/web/saved/${encodeURIComponent(id)}`),
  savedCreate: (q) => call('/api/web/saved', { method: 'POST', body: q }),
  savedUpdate: (id, q) => call(`/api/web/saved/${encodeURIComponent(id)}`, { method: 'PUT', body: q }),
  savedDelete: (id) => call(`/api/web/saved/${encodeURIComponent(id)}`, { method: 'DELETE' }),
};
