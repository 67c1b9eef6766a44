import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderOptionsSchema, SCHEMA_FILE } from '../src/options-schema';
import { OPTION_NAMES } from '../src/options-spec';

const ROOT = path.join(__dirname, '..');
const FILE = path.join(ROOT, SCHEMA_FILE);

test(`${SCHEMA_FILE} is the schema generated from the spec (UPDATE_DOCS=1 rewrites it)`, () => {
  if (process.env.UPDATE_DOCS === '1') {
    mkdirSync(path.dirname(FILE), { recursive: true });
    writeFileSync(FILE, renderOptionsSchema());
  }
  expect(readFileSync(FILE, 'utf8')).toBe(renderOptionsSchema());
});

test('the package ships it', () => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  expect(manifest.files).toContain(path.dirname(SCHEMA_FILE));
});

test('one property per option, and $schema; nothing else is allowed', () => {
  const schema = JSON.parse(renderOptionsSchema()) as { properties: Record<string, unknown>; additionalProperties: boolean };
  expect(Object.keys(schema.properties)).toEqual(['$schema', ...OPTION_NAMES]);
  expect(schema.additionalProperties).toBe(false);
});

// A validator for draft-07: ajv 6 (here through eslint's dependencies). Where it is missing the check is skipped, loudly.
type Validate = ((data: unknown) => boolean) & { errors?: unknown };
let compile: ((schema: object) => Validate) | undefined;
try {
  const Ajv = require('ajv') as new (options: object) => { compile(schema: object): Validate };
  compile = (schema) => new Ajv({ allErrors: true }).compile(schema);
} catch {
  console.warn('ajv is not installed: the schema is not checked against sample configs');
}

(compile === undefined || !existsSync(FILE) ? test.skip : test)('editors accept good configs and flag bad ones', () => {
  const validate = (compile as (schema: object) => Validate)(JSON.parse(renderOptionsSchema()) as object);
  const good = [
    {},
    { $schema: './node_modules/switchyard/schema/switchyard.schema.json', port: 8080, workers: 4, services: { chat: './chat.js' } },
    { allowedOrigins: '*', healthPath: false, heartbeatInterval: 0, staticDir: false, logLevel: 'warn' },
    { allowedOrigins: ['https://a.example'], forwardHeaders: ['x-token'], heartbeatInterval: 1000 },
  ];
  for (const config of good) expect([config, validate(config), validate.errors]).toEqual([config, true, null]);
  const bad = [
    { prot: 8080 },
    { port: 70000 },
    { workers: 0 },
    { logLevel: 'loud' },
    { heartbeatInterval: 10 },
    { services: { '../x': './x.js' } },
    { services: {} },
    { allowedOrigins: [] },
    { healthPath: 'healthz' },
    { perMessageDeflate: 'yes' },
  ];
  for (const config of bad) expect([config, validate(config)]).toEqual([config, false]);
});
