// The query editor: CodeMirror 6 with the KQL mode, completion from the schema, run keys
// (Shift+Enter, Ctrl/Cmd+Enter) and server errors drawn at their line and column.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { diagnosticCount, lintGutter, setDiagnostics } from '@codemirror/lint';
import { highlightSelectionMatches, searchKeymap } from '@codemirror/search';
import { EditorState, Prec } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  placeholder,
} from '@codemirror/view';
import { kql } from './kql.js';

/**
 * The statement to run: the selection if there is one, else the block of lines around
 * the cursor between blank lines (as in the portal). Returns {text, from} or null.
 */
export function statementAt(state) {
  const sel = state.selection.main;
  if (!sel.empty) {
    return { text: state.sliceDoc(sel.from, sel.to), from: sel.from };
  }
  const doc = state.doc;
  const blank = (n) => /^\s*$/.test(doc.line(n).text);
  let n = doc.lineAt(sel.head).number;
  if (blank(n)) {
    // On a blank line: the block just above, else the one below.
    let up = n;
    while (up > 1 && blank(up)) up--;
    if (!blank(up)) n = up;
    else {
      let down = n;
      while (down < doc.lines && blank(down)) down++;
      if (blank(down)) return null;
      n = down;
    }
  }
  let first = n;
  while (first > 1 && !blank(first - 1)) first--;
  let last = n;
  while (last < doc.lines && !blank(last + 1)) last++;
  const from = doc.line(first).from;
  const to = doc.line(last).to;
  return { text: doc.sliceString(from, to), from };
}

/**
 * The document range of a server error at 1-based `line`/`column` (columns count
 * characters) inside the statement that started at `stmtFrom`: from there to the end of
 * the word it points at.
 */
export function errorRange(state, stmtFrom, line, column) {
  const doc = state.doc;
  const firstLine = doc.lineAt(stmtFrom);
  const lineNo = Math.min(doc.lines, firstLine.number + Math.max(0, line - 1));
  const l = doc.line(lineNo);
  const startCol = lineNo === firstLine.number ? stmtFrom - l.from : 0;
  const chars = Array.from(l.text.slice(startCol));
  const before = chars.slice(0, Math.max(0, column - 1)).join('');
  const from = Math.min(l.to, l.from + startCol + before.length);
  const rest = l.text.slice(from - l.from);
  const word = /^[\w$@.-]+|^\S/.exec(rest);
  let len = word ? word[0].length : 0;
  // A dotted or hyphenated run: keep the first name (`Foo.bar` → `Foo`) unless it is an
  // operator name such as `project-away`.
  if (word && /^[A-Za-z_]\w*[.]/.test(word[0])) len = /^[A-Za-z_]\w*/.exec(word[0])[0].length;
  return { from, to: Math.min(l.to, from + Math.max(1, len)) };
}

export function showError(view, stmtFrom, err) {
  if (err.line == null || err.column == null) {
    view.dispatch(setDiagnostics(view.state, []));
    return null;
  }
  const { from, to } = errorRange(view.state, stmtFrom, err.line, err.column);
  view.dispatch(
    setDiagnostics(view.state, [
      { from, to, severity: 'error', message: err.message, source: 'clickhunt' },
    ]),
  );
  view.dispatch({ effects: EditorView.scrollIntoView(from, { y: 'center' }) });
  return { from, to };
}

export function clearErrors(view) {
  view.dispatch(setDiagnostics(view.state, []));
}

const theme = EditorView.theme({
  '&': { height: '100%', fontSize: '13px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', lineHeight: '1.5' },
  '.cm-content': { padding: '6px 0' },
  '.cm-gutters': { backgroundColor: '#f6f7f9', borderRight: '1px solid #e3e5e8', color: '#8a8f98' },
  '.cm-activeLine': { backgroundColor: '#f3f7fd' },
  '.cm-activeLineGutter': { backgroundColor: '#e8f0fb' },
  '.cm-lintRange-error': { backgroundColor: '#fde7e9' },
});

/**
 * The extensions of every tab's editor state. `onRun()` runs the statement under the
 * cursor; `onChange(text)` is told about edits; `getSchema()` feeds completion.
 */
export function editorExtensions({ onRun, onChange, getSchema, nonce }) {
  const run = () => {
    onRun();
    return true;
  };
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    autocompletion({ activateOnTyping: true, icons: false }),
    lintGutter(),
    placeholder('Type a KQL query, then press Shift+Enter to run it'),
    kql(getSchema),
    Prec.highest(keymap.of([
      { key: 'Shift-Enter', run },
      { key: 'Mod-Enter', run },
    ])),
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) {
        onChange(u.state.doc.toString());
        // An edit makes the last error's marker stale.
        const typed = u.transactions.some((t) => t.isUserEvent('input') || t.isUserEvent('delete'));
        if (typed && diagnosticCount(u.state) > 0) {
          const view = u.view;
          setTimeout(() => view.dispatch(setDiagnostics(view.state, [])), 0);
        }
      }
    }),
    theme,
    EditorView.lineWrapping,
    // The CSP allows <style> elements only with this page load's nonce.
    nonce ? EditorView.cspNonce.of(nonce) : [],
  ];
}

export function newEditorState(doc, extensions) {
  return EditorState.create({ doc, extensions });
}

export function createEditor(parent, state) {
  return new EditorView({ state, parent });
}

export { EditorView };
