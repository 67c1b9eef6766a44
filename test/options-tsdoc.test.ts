/**
 * `SwitchyardOptions` keeps a TSDoc comment per field for library users; the
 * compiler checks its keys against `OPTION_SPECS`, and this test checks what
 * the comments say: every field has one, and the default it names is the
 * table's.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { OPTION_NAMES, OPTION_SPECS, type OptionSpec } from '../src/options-spec';

const FILE = path.join(__dirname, '..', 'src', 'options-spec.ts');

/** The TSDoc text of each property of `SwitchyardOptions`, by name. */
function interfaceDocs(): Map<string, string> {
  const source = ts.createSourceFile(FILE, readFileSync(FILE, 'utf8'), ts.ScriptTarget.ES2022, true);
  const docs = new Map<string, string>();
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== 'SwitchyardOptions') return;
    for (const member of node.members) {
      if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name)) continue;
      const comments = ts.getJSDocCommentsAndTags(member).map((doc) => (typeof doc.comment === 'string' ? doc.comment : ''));
      docs.set(member.name.text, comments.join(' ').replace(/\s+/g, ' '));
    }
  });
  return docs;
}

const SIZES: Readonly<Record<string, number>> = { KiB: 1024, MiB: 1024 * 1024, GiB: 1024 * 1024 * 1024 };

/** The default a comment names ("Default `8080`.", "Default 1 MiB."), as a value comparable to the table's. */
function statedDefault(doc: string): string | number | boolean | undefined {
  const match = /Default:? (`[^`]*`|\d+ [KMG]iB)/.exec(doc);
  if (match === null) return undefined;
  const stated = match[1] as string;
  const size = /^(\d+) ([KMG]iB)$/.exec(stated);
  if (size !== null) return Number(size[1]) * (SIZES[size[2] as string] as number);
  const code = stated.slice(1, -1);
  if (/^\d+$/.test(code)) return Number(code);
  if (code === 'true' || code === 'false') return code === 'true';
  return code.replace(/^'(.*)'$/, '$1');
}

test('every option has TSDoc, and the default it states is the one in the table', () => {
  const docs = interfaceDocs();
  expect([...docs.keys()].sort()).toEqual([...OPTION_NAMES].sort());
  let compared = 0;
  for (const name of OPTION_NAMES) {
    const doc = docs.get(name) as string;
    expect([name, doc.length > 0]).toEqual([name, true]);
    const spec: OptionSpec = OPTION_SPECS[name];
    // Custom defaults that depend on the machine or on other options are prose (`defaultDoc`), not compared.
    if (spec.kind === 'custom' && spec.default === undefined) continue;
    const expected =
      spec.default === 'cpus' ? 'os.availableParallelism()' : Array.isArray(spec.default) ? `[${spec.default.map((v: string) => `'${v}'`).join(', ')}]` : spec.default;
    expect([name, statedDefault(doc)]).toEqual([name, expected]);
    compared++;
  }
  expect(compared).toBeGreaterThan(25);
});

test('the TSDoc of each size option names the maximum the table allows', () => {
  const docs = interfaceDocs();
  expect(docs.get('maxPayload')).toContain('at most 48 MiB');
  expect(docs.get('maxRequestBody')).toContain('at most 48 MiB');
  expect(OPTION_SPECS.maxPayload.max).toBe(48 * 1024 * 1024);
  expect(OPTION_SPECS.maxRequestBody.max).toBe(48 * 1024 * 1024);
});
