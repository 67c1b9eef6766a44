/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to
 * check that /metrics parses and to read sample values.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The TYPE of its family: `counter`, `gauge`, `histogram`, `summary` or `untyped`. */
  readonly type: string;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)",?/y;

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  text.split('\n').forEach((line, index) => {
    if (line === '') return;
    if (line.startsWith('# HELP ')) return;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (!name || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type ?? '')) throw new Error(`line ${index + 1}: bad TYPE: ${line}`);
      if (types.has(name)) throw new Error(`line ${index + 1}: duplicate TYPE for ${name}`);
      types.set(name, type as string);
      return;
    }
    if (line.startsWith('#')) return;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`line ${index + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      if (label === null) throw new Error(`line ${index + 1}: bad labels: ${body}`);
      labels[label[1] as string] = (label[2] as string).replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    const raw = match[3] as string;
    // prom-client writes NaN as `Nan`; Prometheus reads any case (Go's ParseFloat), so this does too.
    const isNaNText = raw.toLowerCase() === 'nan';
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : isNaNText ? NaN : Number(raw);
    if (Number.isNaN(value) && !isNaNText) throw new Error(`line ${index + 1}: bad value ${raw}`);
    const family = (match[1] as string).replace(/_(bucket|sum|count)$/, '');
    if (!types.has(match[1] as string) && !types.has(family)) throw new Error(`line ${index + 1}: sample without TYPE: ${line}`);
    samples.push({ name: match[1] as string, labels, value, type: (types.get(match[1] as string) ?? types.get(family)) as string });
  });
  return samples;
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function total(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
