/**
 * Renders schema/switchyard.schema.json, the JSON Schema (draft-07, which
 * editors support widely) of a config file, from `OPTION_SPECS`: integers
 * with their bounds, enums with their values, custom options with the
 * `schema` of their row, each with its doc line and default. Editors that
 * read `"$schema"` complete and check `switchyard.json` with it;
 * test/options-schema.test.ts keeps the shipped file equal to this output.
 * It describes shapes only: `resolveOptions()` still checks what spans
 * options (`maxRestartDelay` ≥ `restartDelay`) and the file system.
 */
import type { JsonSchema, JsonValue } from './json-schema';
import { OPTION_NAMES, OPTION_SPECS, type OptionSpec } from './options-spec';

/** Where the schema lives in the package, relative to its root. */
export const SCHEMA_FILE = 'schema/switchyard.schema.json';

function plain(doc: string): string {
  return doc.replace(/\*\*/g, '').replace(/`/g, '');
}

function shape(spec: OptionSpec): JsonSchema {
  switch (spec.kind) {
    case 'integer': {
      const range: JsonSchema = { type: 'integer', minimum: spec.min, maximum: spec.max };
      const withDefault = spec.default === 'cpus' ? {} : { default: spec.default };
      return spec.off === undefined ? { ...range, ...withDefault } : { anyOf: [{ const: spec.off }, range], ...withDefault };
    }
    case 'boolean':
      return { type: 'boolean', default: spec.default };
    case 'enum':
      return { enum: spec.values, default: spec.default };
    case 'custom':
      return { ...(spec.schema ?? {}), ...(spec.default === undefined ? {} : { default: spec.default as JsonValue }) };
    default: {
      const unknownKind: never = spec;
      throw new Error(`option spec of unknown kind: ${JSON.stringify(unknownKind)}`);
    }
  }
}

/** The schema as an object. */
export function optionsSchema(): Record<string, unknown> {
  const properties: Record<string, JsonSchema> = {
    $schema: { type: 'string', description: 'the schema this file follows (for editors); ignored by Switchyard' },
  };
  for (const name of OPTION_NAMES) {
    const spec: OptionSpec = OPTION_SPECS[name];
    properties[name] = { description: plain(spec.doc), markdownDescription: spec.doc, ...shape(spec) };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Switchyard configuration',
    description: 'Options of switchyard start --config (and of createServer()); see docs/options.md',
    type: 'object',
    additionalProperties: false,
    properties,
  };
}

/** The file's text: the schema, two-space indented, with a final newline. */
export function renderOptionsSchema(): string {
  return `${JSON.stringify(optionsSchema(), null, 2)}\n`;
}
