// KQL for CodeMirror 6: a stream tokenizer for highlighting and a completion source fed
// from the server's schema (tables, columns, function names).

import { StreamLanguage, LanguageSupport } from '@codemirror/language';

/** Tabular operators (what may follow `|`). */
export const OPERATORS = [
  'as', 'consume', 'count', 'distinct', 'evaluate', 'extend', 'facet', 'filter', 'getschema',
  'invoke', 'join', 'limit', 'lookup', 'make-series', 'mv-apply', 'mv-expand', 'order',
  'parse', 'parse-where', 'project', 'project-away', 'project-keep', 'project-rename',
  'project-reorder', 'render', 'sample', 'sample-distinct', 'search', 'serialize', 'sort',
  'summarize', 'take', 'top', 'top-nested', 'union', 'where',
];

/** Words that are not operators, functions or names. */
export const KEYWORDS = [
  'and', 'or', 'not', 'by', 'on', 'with', 'kind', 'let', 'set', 'in', 'has', 'has_cs',
  'has_any', 'has_all', 'hasprefix', 'hassuffix', 'contains', 'contains_cs', 'startswith',
  'startswith_cs', 'endswith', 'endswith_cs', 'matches', 'regex', 'between', 'asc', 'desc',
  'nulls', 'first', 'last', 'true', 'false', 'null', 'from', 'to', 'step', 'range', 'print',
  'datatable', 'materialize', 'toscalar', 'view', 'inner', 'innerunique', 'leftouter',
  'rightouter', 'fullouter', 'leftanti', 'rightanti', 'leftsemi', 'rightsemi', 'withsource',
  'isfuzzy', 'typeof', 'bagexpansion', 'with_itemindex', 'default',
];

/** Chart kinds `render` understands, and its `with (...)` properties. */
export const CHARTS = [
  'timechart', 'linechart', 'areachart', 'columnchart', 'barchart', 'piechart',
  'scatterchart', 'table',
];
export const RENDER_PROPERTIES = ['title', 'xcolumn', 'ycolumns', 'series', 'kind', 'xtitle', 'ytitle', 'legend'];

const TYPES = ['bool', 'boolean', 'int', 'long', 'real', 'double', 'decimal', 'string', 'datetime', 'timespan', 'guid', 'dynamic'];

const operatorSet = new Set(OPERATORS);
const keywordSet = new Set([...KEYWORDS, ...CHARTS]);
const typeSet = new Set(TYPES);

function tokenString(quote) {
  return (stream, state) => {
    let escaped = false;
    let ch;
    while ((ch = stream.next()) != null) {
      if (ch === quote && !escaped) {
        state.tokenize = null;
        return 'string';
      }
      escaped = !escaped && ch === '\\' && !state.verbatim;
    }
    state.tokenize = null; // KQL strings do not span lines.
    return 'string';
  };
}

const kqlStream = {
  name: 'kql',
  startState: () => ({ tokenize: null, verbatim: false }),
  token(stream, state) {
    if (state.tokenize) return state.tokenize(stream, state);
    if (stream.eatSpace()) return null;
    if (stream.match('//')) {
      stream.skipToEnd();
      return 'comment';
    }
    const ch = stream.peek();
    if ((ch === '@' || ch === 'h' || ch === 'H') && /["']/.test(stream.string.charAt(stream.pos + 1))) {
      stream.next();
      state.verbatim = ch === '@';
      const q = stream.next();
      state.tokenize = tokenString(q);
      return state.tokenize(stream, state);
    }
    if (ch === '"' || ch === "'") {
      stream.next();
      state.verbatim = false;
      state.tokenize = tokenString(ch);
      return state.tokenize(stream, state);
    }
    if (stream.match(/^\d+(\.\d+)?(e[+-]?\d+)?(d|h|m|s|ms|microsecond|tick|days?|hours?|minutes?|seconds?)?\b/i)) {
      return 'number';
    }
    if (stream.match(/^[A-Za-z_]\w*/)) {
      const word = stream.current();
      // Hyphenated operators: project-away, mv-expand, make-series, ...
      const tail = stream.match(/^(-[a-z]+)+/, false);
      if (tail && operatorSet.has(word + tail[0])) {
        stream.match(tail[0]);
        return 'keyword';
      }
      if (operatorSet.has(word) || keywordSet.has(word)) return 'keyword';
      if (typeSet.has(word)) return 'typeName';
      if (/^\s*\(/.test(stream.string.slice(stream.pos))) return 'function';
      return 'variableName';
    }
    if (stream.match('|')) return 'operator';
    if (stream.match(/^(==|!=|=~|!~|<=|>=|\.\.|[-+*/%<>=!])/)) return 'operator';
    stream.next();
    return 'punctuation';
  },
  languageData: {
    commentTokens: { line: '//' },
    closeBrackets: { brackets: ['(', '[', '{', '"', "'"] },
  },
};

export const kqlLanguage = StreamLanguage.define(kqlStream);

/** Quotes a name that is not a plain identifier: `['Some name']`. */
export function quoteName(name) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `['${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
}

/**
 * Completion from the schema: operators after `|`, chart kinds after `render`, columns of
 * the tables the statement names (or of every table), tables, functions, keywords.
 * `getSchema` returns the last schema answer (or null).
 */
export function kqlCompletion(getSchema) {
  return (context) => {
    const word = context.matchBefore(/[\w-]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from - (word.to - word.from));
    const schema = getSchema();
    const options = [];
    if (/\|\s*$/.test(before)) {
      for (const op of OPERATORS) options.push({ label: op, type: 'keyword', boost: 2 });
      return { from: word.from, options, validFor: /^[\w-]*$/ };
    }
    if (/\brender\s+$/.test(before)) {
      for (const c of CHARTS) options.push({ label: c, type: 'keyword' });
      return { from: word.from, options, validFor: /^\w*$/ };
    }
    if (schema) {
      const text = context.state.doc.toString();
      const named = schema.tables.filter((t) => new RegExp(`\\b${t.name}\\b`).test(text));
      const seen = new Set();
      for (const t of named.length ? named : schema.tables) {
        for (const c of t.columns) {
          if (seen.has(c.name)) continue;
          seen.add(c.name);
          options.push({ label: quoteName(c.name), type: 'property', detail: c.type, boost: named.length ? 3 : 0 });
        }
      }
      for (const t of schema.tables) {
        options.push({ label: quoteName(t.name), type: 'class', detail: 'table', boost: 1 });
      }
      for (const f of schema.functions || []) {
        options.push({ label: f, type: 'function', apply: `${f}(` });
      }
    }
    for (const k of KEYWORDS) options.push({ label: k, type: 'keyword', boost: -1 });
    for (const p of RENDER_PROPERTIES) if (/\bwith\s*\(/.test(before)) options.push({ label: p, type: 'keyword' });
    return { from: word.from, options, validFor: /^[\w]*$/ };
  };
}

export function kql(getSchema) {
  return new LanguageSupport(kqlLanguage, [kqlLanguage.data.of({ autocomplete: kqlCompletion(getSchema) })]);
}
