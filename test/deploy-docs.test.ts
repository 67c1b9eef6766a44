/**
 * The recipes in docs/deploy.md, checked as far as this machine allows: no
 * Docker daemon here, so the Dockerfile is parsed for the lines that make
 * signals and users right; the systemd unit goes through
 * `systemd-analyze verify` where it exists; the timeouts are compared.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_HEALTH_PATH, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_READY_PATH } from '../src/options';

const PAGE = readFileSync(path.join(__dirname, '..', 'docs', 'deploy.md'), 'utf8');

/** The one fenced block of `language` in docs/deploy.md. */
function block(language: string): string {
  const blocks = [...PAGE.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)\\n```', 'g'))].map((m) => m[1] as string);
  expect(blocks).toHaveLength(1);
  return blocks[0] as string;
}

/** Dockerfile instructions (comments dropped; no line continuations are used in the recipe). */
function instructions(dockerfile: string): { readonly name: string; readonly args: string }[] {
  return dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return { name: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    });
}

describe('Dockerfile', () => {
  const steps = instructions(block('dockerfile'));
  const last = (name: string): string | undefined => steps.filter((step) => step.name === name).at(-1)?.args;

  test('starts from an image, runs as an unprivileged user, stops on SIGTERM', () => {
    expect(steps[0]?.name).toBe('FROM');
    const user = last('USER');
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    // The user is set before the command runs: nothing after it switches back.
    expect(steps.findIndex((step) => step.name === 'USER')).toBeLessThan(steps.findIndex((step) => step.name === 'CMD'));
    expect(last('STOPSIGNAL')).toBe('SIGTERM');
  });

  test('CMD is the exec form of node on the CLI: no shell, no npm or npx between the signals and the master', () => {
    const command = JSON.parse(last('CMD') as string) as string[];
    expect(command[0]).toBe('node');
    expect(command.slice(1, 3)).toEqual(['node_modules/switchyard/dist/cli.js', 'start']);
    expect(steps.some((step) => step.name === 'ENTRYPOINT')).toBe(false);
    expect(steps.map((step) => step.args).join('\n')).not.toMatch(/\bnpx\b|npm start/);
  });

  test('stopTimeout ends before docker stop\'s default 10 s grace', () => {
    const stop = /SWITCHYARD_STOP_TIMEOUT=(\d+)/.exec(steps.filter((step) => step.name === 'ENV').map((step) => step.args).join('\n'));
    expect(Number(stop?.[1])).toBeLessThanOrEqual(10_000 - 1000);
  });
});

describe('systemd unit', () => {
  const unit = block('ini');
  const value = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];

  test('ExecStart runs node on the CLI (not npx), ExecReload sends SIGHUP to the master', () => {
    expect(value('ExecStart')).toMatch(/^\/\S*\/node \S*\/node_modules\/switchyard\/dist\/cli\.js start( |$)/);
    expect(unit).not.toMatch(/\bnpx\b|npm start/);
    expect(value('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(value('User')).not.toBe('root');
  });

  test('TimeoutStopSec leaves the stop at least 5 s more than stopTimeout', () => {
    const stopTimeout = Number(/SWITCHYARD_STOP_TIMEOUT=(\d+)/.exec(unit)?.[1]);
    expect(Number(value('TimeoutStopSec')) * 1000).toBeGreaterThanOrEqual(stopTimeout + 5000);
  });

  const analyze = '/usr/bin/systemd-analyze';
  const node = /^ExecStart=(\S+)/m.exec(unit)?.[1] as string;
  // verify also checks that ExecStart's binary exists: only where both are there.
  const verifiable = existsSync(analyze) && existsSync(node);
  (verifiable ? test : test.skip)('systemd-analyze verify finds nothing to say', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'sy-unit-'));
    try {
      const file = path.join(folder, 'switchyard.service');
      writeFileSync(file, `${unit}\n`);
      const result = spawnSync(analyze, ['verify', file], { encoding: 'utf8', timeout: 20000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
  if (!verifiable) console.warn(`systemd unit not verified: ${existsSync(analyze) ? `${node} is missing` : `${analyze} is missing`}`);
});

describe('Kubernetes', () => {
  const manifest = block('yaml');

  test('readiness on readyPath, liveness and startup on healthPath', () => {
    expect(/readinessProbe:\s+httpGet: \{ path: (\S+),/.exec(manifest)?.[1]).toBe(DEFAULT_READY_PATH);
    expect(/livenessProbe:\s+httpGet: \{ path: (\S+),/.exec(manifest)?.[1]).toBe(DEFAULT_HEALTH_PATH);
    expect(/startupProbe:\s+httpGet: \{ path: (\S+),/.exec(manifest)?.[1]).toBe(DEFAULT_HEALTH_PATH);
  });

  test('the grace period covers preStop and stopTimeout with room to exit', () => {
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(manifest)?.[1]) * 1000;
    const preStop = Number(/command: \["sleep", "(\d+)"\]/.exec(manifest)?.[1]) * 1000;
    const stopTimeout = Number(/name: SWITCHYARD_STOP_TIMEOUT\s+value: "(\d+)"/.exec(manifest)?.[1]);
    expect(stopTimeout).toBeGreaterThan(0);
    expect(preStop + stopTimeout + 2000).toBeLessThanOrEqual(grace);
  });
});

describe('nginx', () => {
  const config = block('nginx');

  test('passes the upgrade through over HTTP/1.1', () => {
    expect(config).toContain('proxy_http_version 1.1;');
    expect(config).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(config).toContain('proxy_set_header Connection $connection_upgrade;');
  });

  test('its read timeout outlasts the heartbeat interval, so idle sockets stay up', () => {
    const timeout = Number(/proxy_read_timeout (\d+)s;/.exec(config)?.[1]) * 1000;
    expect(timeout).toBeGreaterThanOrEqual(2 * DEFAULT_HEARTBEAT_INTERVAL);
  });
});
