import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { OPTIONS_TABLE_END, OPTIONS_TABLE_START, renderOptionsTable } from '../src/options-docs';
import { OPTION_NAMES } from '../src/options-spec';

const DOCS = path.join(__dirname, '..', 'docs', 'options.md');

/** The generated block of docs/options.md, markers included. */
function documentedTable(text: string): string {
  const start = text.indexOf(OPTIONS_TABLE_START);
  const end = text.indexOf(OPTIONS_TABLE_END);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return text.slice(start, end + OPTIONS_TABLE_END.length);
}

test('docs/options.md holds the table generated from the spec (UPDATE_DOCS=1 rewrites it)', () => {
  const text = readFileSync(DOCS, 'utf8');
  const expected = renderOptionsTable();
  if (process.env.UPDATE_DOCS === '1') writeFileSync(DOCS, text.replace(documentedTable(text), expected));
  expect(documentedTable(readFileSync(DOCS, 'utf8'))).toBe(expected);
});

test('the table has one row per option, in table order', () => {
  const rows = renderOptionsTable().split('\n').filter((line) => line.startsWith('| `'));
  expect(rows.map((row) => /^\| `([A-Za-z]+)`/.exec(row)?.[1])).toEqual([...OPTION_NAMES]);
});
