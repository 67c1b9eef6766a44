/**
 * A/B runs of one suite scenario against two Switchyard variants that differ
 * only in environment variables, interleaved (A B A B …, fresh server per run),
 * printing every run and the medians of each figure:
 *
 *   node packages/bench/dist/suite/ab.js --only storm --rounds 3 --a NODE_CLUSTER_SCHED_POLICY=rr --b NODE_CLUSTER_SCHED_POLICY=none
 *
 * `--a` / `--b` take comma-separated KEY=VALUE pairs (either may be empty).
 * `--a-root` / `--b-root` run that side from another checkout's build (its
 * `packages/bench/dist/suite/switchyard-target.js`, after `npm ci` there): old
 * code against new, with this checkout's generator and scenario on both.
 * `--a-node` / `--b-node` run that side's server with another Node binary:
 *
 *   node packages/bench/dist/suite/ab.js --only "echo 100" --rounds 3 --a-root /work/wt-base
 *   node packages/bench/dist/suite/ab.js --only storm --rounds 3 --b-node /tmp/node24/package/bin/node
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL_SIZES, QUICK_SIZES, suiteScenarios, type RunOutcome } from './suite-scenarios';
import { Target, type TargetVariant } from './targets';

function parseEnv(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    if (pair.length === 0) continue;
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--a/--b take KEY=VALUE pairs, got "${pair}"`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

function variantOf(root: string | undefined, node: string | undefined): TargetVariant {
  return {
    ...(root === undefined ? {} : { entry: path.resolve(root, 'packages/bench/dist/suite/switchyard-target.js') }),
    ...(node === undefined ? {} : { execPath: path.resolve(node) }),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function line(outcome: RunOutcome): string {
  const figures = Object.entries(outcome.figures).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`).join(' ');
  const errors = Object.keys(outcome.errors).length === 0 ? '' : ` errors=${JSON.stringify(outcome.errors)}`;
  return `${figures} cpu=${outcome.cpuSeconds.toFixed(2)}s rss=${(outcome.rssBytes / 1048576).toFixed(0)}MiB${errors}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { only: { type: 'string' }, rounds: { type: 'string' }, a: { type: 'string' }, b: { type: 'string' }, 'a-root': { type: 'string' }, 'b-root': { type: 'string' }, 'a-node': { type: 'string' }, 'b-node': { type: 'string' }, quick: { type: 'boolean' }, workers: { type: 'string' } },
  });
  const sizes = values.quick === true ? QUICK_SIZES : FULL_SIZES;
  const scenario = suiteScenarios(sizes).find((s) => values.only !== undefined && s.name.includes(values.only));
  if (scenario === undefined) throw new Error('--only must name one suite scenario');
  const rounds = Number(values.rounds ?? '3');
  const workers = Number(values.workers ?? String(scenario.switchyard.workers ?? 2));
  const variants = [
    { name: 'A', env: parseEnv(values.a), variant: variantOf(values['a-root'], values['a-node']) },
    { name: 'B', env: parseEnv(values.b), variant: variantOf(values['b-root'], values['b-node']) },
  ];
  const outcomes: RunOutcome[][] = [[], []];
  let sourceBase = 0;
  const describe = (v: (typeof variants)[number] | undefined): string => JSON.stringify({ ...v?.env, ...v?.variant });
  process.stderr.write(`A/B ${scenario.name}: A=${describe(variants[0])} B=${describe(variants[1])}, ${rounds} round(s)\n`);
  for (let round = 1; round <= rounds; round++) {
    for (const [index, variant] of variants.entries()) {
      const target = await Target.start('switchyard', workers, variant.env, variant.variant);
      try {
        const outcome = await scenario.run(target, sourceBase);
        outcomes[index]?.push(outcome);
        process.stderr.write(`  round ${round} ${variant.name}: ${line(outcome)}\n`);
      } finally {
        await target.stop();
      }
      sourceBase += scenario.addresses + 1;
    }
  }
  for (const [index, variant] of variants.entries()) {
    const runs = outcomes[index] ?? [];
    const keys = Object.keys(runs[0]?.figures ?? {});
    const medians = keys.map((k) => `${k}=${median(runs.map((r) => r.figures[k] ?? 0)).toFixed(2)}`);
    medians.push(`cpu=${median(runs.map((r) => r.cpuSeconds)).toFixed(2)}s`, `rss=${(median(runs.map((r) => r.rssBytes)) / 1048576).toFixed(0)}MiB`);
    process.stdout.write(`median ${variant.name} ${describe(variant)}: ${medians.join(' ')}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
