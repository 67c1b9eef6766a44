/** Reads the ledger the `ledger` fixture service writes. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface LedgerEntry {
  readonly client: string;
  readonly data: string;
  readonly redelivered: boolean;
}

/**
 * Gives each test of the calling file a fresh ledger and closes the cluster
 * before removing it; returns a getter for the current file.
 */
export function useLedger(closeAll: () => Promise<void>): () => string {
  let ledger: ReturnType<typeof freshLedger> | undefined;
  beforeEach(() => {
    ledger = freshLedger();
  });
  afterEach(async () => {
    await closeAll();
    ledger?.cleanup();
  });
  return () => ledger?.file as string;
}

/** Points the ledger fixture at a fresh file (children inherit the environment). */
export function freshLedger(): { file: string; cleanup(): void } {
  const folder = mkdtempSync(path.join(tmpdir(), 'sy-ledger-'));
  const file = path.join(folder, 'ledger.txt');
  process.env.SWITCHYARD_TEST_LEDGER = file;
  return { file, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

export function readLedger(file: string): LedgerEntry[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [client, data, mark] = line.split(' ');
      return { client: client as string, data: data as string, redelivered: mark === 'r' };
    });
}

/**
 * Checks at-least-once, in-order handling of one client's messages: after
 * dropping repeats (each of which must be marked redelivered), what remains is
 * exactly `expected`, in order. Returns a description of the first problem.
 */
export function checkDelivery(entries: readonly LedgerEntry[], client: string | ((entry: LedgerEntry) => boolean), expected: readonly string[]): string | undefined {
  const seen = new Set<string>();
  const firsts: string[] = [];
  const select = typeof client === 'string' ? (entry: LedgerEntry) => entry.client === client : client;
  for (const entry of entries) {
    if (!select(entry) || entry.data === 'close') continue;
    if (seen.has(entry.data)) {
      if (!entry.redelivered) return `${client}: "${entry.data}" handled twice without the redelivered mark`;
      continue;
    }
    seen.add(entry.data);
    firsts.push(entry.data);
  }
  for (let i = 0; i < Math.max(firsts.length, expected.length); i++) {
    if (firsts[i] !== expected[i]) return `${client}: expected "${expected[i]}" at position ${i}, handled "${firsts[i]}"`;
  }
  return undefined;
}
