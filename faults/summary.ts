/**
 * Vitest global set-up for the fault drills: starts an empty report file and, at the end,
 * prints every drill's figures as one table.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fmtMs, type ReportRow } from './drill';

export default function setup(): () => void {
  const file = process.env.FAULTS_REPORT_FILE!;
  const started = Date.now();
  writeFileSync(file, '');
  return () => {
    const rows = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ReportRow)
          // Files run in vitest's order; the table goes by scenario number.
          .sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }))
      : [];
    rmSync(file, { force: true });
    const table = [
      ['scenario', 'acked', 'ledger rows', 'drift', 'time to fail', 'recover', 'notes'],
      ...rows.map((r) => [r.scenario, String(r.acked), String(r.ledgerRows), String(r.drift), `${fmtMs(r.timeToFailMs)}${r.hung ? ' (hung)' : ''}`, fmtMs(r.recoverMs), r.note]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(`\nFault drills (${Math.round((Date.now() - started) / 1000)} s)`);
    console.log(line(table[0]!));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const row of table.slice(1)) console.log(line(row));
  };
}
