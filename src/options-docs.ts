/**
 * Renders the options table of docs/options.md from `OPTION_SPECS`, so the
 * docs cannot drift from the spec (test/options-docs.test.ts compares them,
 * as fastify's test/internals/errors.test.js does for its error docs).
 */
import { OPTION_NAMES, OPTION_SPECS, type IntegerSpec, type OptionSpec } from './options-spec';

/** Where the generated table starts and ends in docs/options.md. */
export const OPTIONS_TABLE_START = '<!-- options table: generated from src/options-spec.ts, do not edit by hand -->';
export const OPTIONS_TABLE_END = '<!-- end of options table -->';

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [1024 * 1024 * 1024, 'GiB'],
  [1024 * 1024, 'MiB'],
  [1024, 'KiB'],
];

function amount(value: number, unit: IntegerSpec['unit']): string {
  switch (unit) {
    case 'ms':
      return `${value} ms`;
    case 'count':
      return String(value);
    case 'bytes': {
      for (const [size, name] of UNITS) if (value >= size && value % size === 0) return `${value / size} ${name}`;
      return `${value} B`;
    }
    default: {
      const unknownUnit: never = unit;
      throw new Error(`unknown unit ${String(unknownUnit)}`);
    }
  }
}

function typeOf(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'integer':
      return `integer, ${spec.off === undefined ? '' : `\`${spec.off}\` (off) or `}${amount(spec.min, spec.unit)} – ${amount(spec.max, spec.unit)}`;
    case 'boolean':
      return 'boolean';
    case 'enum':
      return spec.values.map((value) => `\`'${value}'\``).join(' \\| ');
    case 'custom':
      return spec.type;
    default: {
      const unknownKind: never = spec;
      throw new Error(`unknown option kind in ${JSON.stringify(unknownKind)}`);
    }
  }
}

function defaultOf(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'integer':
      return spec.default === 'cpus' ? '`os.availableParallelism()`' : amount(spec.default, spec.unit);
    case 'boolean':
      return `\`${String(spec.default)}\``;
    case 'enum':
      return `\`'${spec.default}'\``;
    case 'custom':
      return spec.defaultDoc ?? `\`${shown(spec.default)}\``;
    default: {
      const unknownKind: never = spec;
      throw new Error(`unknown option kind in ${JSON.stringify(unknownKind)}`);
    }
  }
}

/** A default as TypeScript source shows it: `'text'`, `['a', 'b']`. */
function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(shown).join(', ')}]`;
  return String(value);
}

/** The markdown table of every option, one row each in table order, between its two marker lines. */
export function renderOptionsTable(): string {
  const rows = OPTION_NAMES.map((name) => {
    const spec: OptionSpec = OPTION_SPECS[name];
    const limit = spec.workerLimit === true ? ' (worker limit)' : '';
    return `| \`${name}\`${limit} | ${typeOf(spec)} | ${defaultOf(spec)} | ${spec.doc} |`;
  });
  return [OPTIONS_TABLE_START, '| option | type and bounds | default | meaning |', '| --- | --- | --- | --- |', ...rows, OPTIONS_TABLE_END].join('\n');
}
