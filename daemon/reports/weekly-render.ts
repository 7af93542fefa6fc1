import type { WeeklyReport } from '../../shared/schemas/weekly.js';
import { barChart, escapeXml } from './svg.js';

/** The weekly report as Markdown (for a terminal, a wiki, an e-mail) and as one self-contained HTML page. */

const pct = (share: number | null): string => (share === null ? '–' : `${(Math.floor(share * 10_000) / 100).toFixed(2)} %`);
const ms = (v: number | null): string => (v === null ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const num = (v: number | null, digits = 1): string => (v === null ? '–' : v.toFixed(digits));
const hours = (v: number): string =>
  v < 60_000 ? `${Math.round(v / 1000)} s` : v < 3_600_000 ? `${Math.round(v / 60_000)} min` : `${(v / 3_600_000).toFixed(1)} h`;
const seconds = (v: number | null): string => (v === null ? '–' : v < 120 ? `${Math.round(v)} s` : `${(v / 60).toFixed(1)} min`);
const mark = { action: '⚠', watch: '•', ok: '✓' } as const;

interface Table {
  head: string[];
  rows: string[][];
}

/** Everything both formats say, in order: headings, paragraphs and tables. */
type Block = { kind: 'h2'; text: string } | { kind: 'p'; text: string } | { kind: 'table'; table: Table } | { kind: 'chart'; svg: string };

/** Availability sits near 100 %: start the axis low enough to show the worst day as a bar, and the goal line. */
function availabilityAxisMin(r: WeeklyReport): number {
  const lowest = Math.min(r.server.availabilityGoal, ...r.days.flatMap((d) => (d.availability === null ? [] : [d.availability])));
  return Math.max(0, lowest - Math.max(0.02, (1 - lowest) * 0.5));
}

function serverBlocks(r: WeeklyReport): Block[] {
  const s = r.server;
  const availabilityVerdict = s.availability === null ? 'not measured' : s.availability >= s.availabilityGoal ? 'met' : 'NOT met';
  const responseVerdict = s.p95Ms === null ? 'no requests' : s.p95Ms <= s.responseGoalMs ? 'met' : 'NOT met';
  const restarts =
    s.restarts.length === 0 ? 'none' : s.restarts.map((x) => `${x.cause} ×${x.count}${x.planned ? ' (planned)' : ''}`).join(', ');
  return [
    { kind: 'h2', text: 'Server operation' },
    {
      kind: 'table',
      table: {
        head: ['Figure', 'This week', 'Goal'],
        rows: [
          ['Availability', pct(s.availability), `${pct(s.availabilityGoal)} (${availabilityVerdict})`],
          ['Down time (unplanned)', hours(s.downMs), ''],
          ['Planned stops', hours(s.plannedMs), 'left out of availability'],
          ['Response p50', ms(s.p50Ms), ''],
          ['Response p95', ms(s.p95Ms), `${ms(s.responseGoalMs)} (${responseVerdict})`],
          ['Average CPU', s.cpuPercent === null ? '–' : `${num(s.cpuPercent)} %`, ''],
          ['Average memory', s.memoryPercent === null ? '–' : `${num(s.memoryPercent)} %`, ''],
          ['Restarts and their causes', restarts, ''],
        ],
      },
    },
    {
      kind: 'chart',
      svg: barChart({
        title: 'Availability per day',
        bars: r.days.map((d) => ({ label: d.date.slice(5), value: d.availability })),
        format: (v) => pct(v),
        goal: { value: s.availabilityGoal, label: `goal ${pct(s.availabilityGoal)}`, good: 'above' },
        min: availabilityAxisMin(r),
        max: 1,
      }),
    },
    {
      kind: 'chart',
      svg: barChart({
        title: 'Response time p95 per day',
        bars: r.days.map((d) => ({ label: d.date.slice(5), value: d.p95Ms })),
        format: ms,
        goal: { value: s.responseGoalMs, label: `goal ${ms(s.responseGoalMs)}`, good: 'below' },
      }),
    },
  ];
}

function learningBlocks(r: WeeklyReport): Block[] {
  const l = r.learning;
  if (l === null)
    return [
      { kind: 'h2', text: 'Learning activity' },
      { kind: 'p', text: 'The learning database could not be read this time (see the notes).' },
    ];
  return [
    { kind: 'h2', text: 'Learning activity' },
    {
      kind: 'p',
      text: `${l.newLearners} new learner${l.newLearners === 1 ? '' : 's'} (${l.totalLearners} in all), ${l.completions} tutorial${l.completions === 1 ? '' : 's'} completed, ${l.activeLearners} learner${l.activeLearners === 1 ? '' : 's'} in the middle of one.`,
    },
    {
      kind: 'chart',
      svg: barChart({
        title: 'Tutorials completed per day',
        bars: r.days.map((d) => ({ label: d.date.slice(5), value: d.completions })),
        format: (v) => String(Math.round(v)),
      }),
    },
    {
      kind: 'table',
      table: {
        head: ['Tutorial', 'Started', 'Completed', 'Completion rate', 'Average time'],
        rows: l.tutorials.map((t) => [
          t.title,
          String(t.starts),
          String(t.completions),
          t.completionRate === null ? '–' : `${num(t.completionRate)} %`,
          seconds(t.averageTimeSeconds),
        ]),
      },
    },
    ...(l.stuck.length === 0
      ? [{ kind: 'p' as const, text: 'No step stood out as one where learners get stuck.' }]
      : [
          { kind: 'p' as const, text: 'Where learners get stuck:' },
          {
            kind: 'table' as const,
            table: {
              head: ['Tutorial', 'Step', 'Wrong answers', 'Time on the step'],
              rows: l.stuck.map((s) => [s.tutorial, String(s.step), String(s.wrongAnswers), seconds(s.dwellSeconds)]),
            },
          },
        ]),
  ];
}

function errorBlocks(r: WeeklyReport): Block[] {
  const e = r.errors;
  return [
    { kind: 'h2', text: 'Errors and warnings' },
    {
      kind: 'p',
      text: `${e.errors} error line${e.errors === 1 ? '' : 's'} and ${e.warnings} warning${e.warnings === 1 ? '' : 's'} in the logs.`,
    },
    ...(e.topErrors.length === 0
      ? []
      : [
          {
            kind: 'table' as const,
            table: { head: ['Most frequent errors', 'Count'], rows: e.topErrors.map((t) => [t.message, String(t.count)]) },
          },
        ]),
    ...(e.alerts.length === 0
      ? [{ kind: 'p' as const, text: 'No alerts this week.' }]
      : [
          {
            kind: 'table' as const,
            table: {
              head: ['Alert', 'Raised', 'Cleared', 'What'],
              rows: e.alerts.map((a) => [
                a.rule,
                a.raisedAt.slice(0, 16).replace('T', ' '),
                a.clearedAt === null ? 'still active' : a.clearedAt.slice(0, 16).replace('T', ' '),
                a.message,
              ]),
            },
          },
        ]),
    ...(e.failedJobs.length === 0
      ? []
      : [
          {
            kind: 'table' as const,
            table: {
              head: ['Failed job', 'When', 'Why'],
              rows: e.failedJobs.map((j) => [j.job, j.at.slice(0, 16).replace('T', ' '), j.error]),
            },
          },
        ]),
  ];
}

function recommendationBlocks(r: WeeklyReport): Block[] {
  return [
    { kind: 'h2', text: 'Recommended actions' },
    {
      kind: 'table',
      table: {
        head: ['', 'What', 'Command'],
        rows: r.recommendations.map((x) => [mark[x.severity], x.text, x.command ?? '']),
      },
    },
  ];
}

function blocks(r: WeeklyReport): Block[] {
  return [
    ...recommendationBlocks(r),
    ...serverBlocks(r),
    ...learningBlocks(r),
    ...errorBlocks(r),
    ...(r.notes.length === 0 ? [] : [{ kind: 'h2' as const, text: 'Notes' }, ...r.notes.map((n) => ({ kind: 'p' as const, text: n }))]),
  ];
}

const title = (r: WeeklyReport): string => `mcp-starter weekly report: ${r.from} to ${r.to}`;

const mdCell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderWeeklyMarkdown(r: WeeklyReport): string {
  const out = [`# ${title(r)}`, '', `Generated ${r.generatedAt} (days in ${r.timezone}).`, ''];
  for (const b of blocks(r)) {
    if (b.kind === 'h2') out.push(`## ${b.text}`, '');
    else if (b.kind === 'p') out.push(b.text, '');
    else if (b.kind === 'table') {
      out.push(`| ${b.table.head.map(mdCell).join(' | ')} |`, `|${b.table.head.map(() => ' --- ').join('|')}|`);
      for (const row of b.table.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  out.push('Per day:', '', '| Day | Availability | p95 | CPU | Memory | Completed |', '| --- | --- | --- | --- | --- | --- |');
  for (const d of r.days) {
    out.push(
      `| ${d.date} | ${pct(d.availability)} | ${ms(d.p95Ms)} | ${d.cpuPercent === null ? '–' : `${num(d.cpuPercent)} %`} | ${d.memoryPercent === null ? '–' : `${num(d.memoryPercent)} %`} | ${d.completions ?? '–'} |`,
    );
  }
  return `${out.join('\n')}\n`;
}

const STYLE = `body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;width:100%}th,td{border:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td code{font-size:.9em}.meta{color:#666}figure{margin:.8em 0}svg{max-width:100%;height:auto}
.action td:first-child{color:#c0392b;font-weight:bold}.watch td:first-child{color:#b9770e}.ok td:first-child{color:#2f7d4f}`;

function htmlTable(t: Table, command = false, classes?: readonly string[]): string {
  const head = `<tr>${t.head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const rows = t.rows
    .map((row, i) => {
      const cells = row.map(
        (c, j) => `<td>${command && j === row.length - 1 && c !== '' ? `<code>${escapeXml(c)}</code>` : escapeXml(c)}</td>`,
      );
      const cls = classes?.[i];
      return `<tr${cls === undefined ? '' : ` class="${cls}"`}>${cells.join('')}</tr>`;
    })
    .join('');
  return `<table>${head}${rows}</table>`;
}

export function renderWeeklyHtml(r: WeeklyReport): string {
  const body: string[] = [
    `<h1>${escapeXml(title(r))}</h1>`,
    `<p class="meta">Generated ${escapeXml(r.generatedAt)} (days in ${escapeXml(r.timezone)}).</p>`,
  ];
  let first = true;
  for (const b of blocks(r)) {
    if (b.kind === 'h2') body.push(`<h2>${escapeXml(b.text)}</h2>`);
    else if (b.kind === 'p') body.push(`<p>${escapeXml(b.text)}</p>`);
    else if (b.kind === 'chart') body.push(`<figure>${b.svg}</figure>`);
    else if (first) {
      // The first table is the recommendations: their commands in code, coloured by severity.
      body.push(
        htmlTable(
          b.table,
          true,
          r.recommendations.map((x) => x.severity),
        ),
      );
      first = false;
    } else body.push(htmlTable(b.table));
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title(r))}</title><style>${STYLE}</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}
