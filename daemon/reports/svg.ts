/** Inline SVG bar charts for the weekly report: no script, no external asset, readable in any browser. */

export interface Bar {
  label: string;
  value: number | null;
}

export interface BarChartOptions {
  title: string;
  bars: readonly Bar[];
  /** How a value is written on its bar and the axis. */
  format: (value: number) => string;
  /** A goal line; `good` says which side of it is good (bars on the bad side are drawn red). */
  goal?: { value: number; label: string; good: 'above' | 'below' };
  /** The axis range; by default 0 to the largest value (or the goal). */
  min?: number;
  max?: number;
}

const WIDTH = 640;
const HEIGHT = 220;
// The goal's label sits right of the plot, where no bar or value label can cover it.
const PAD = { top: 40, right: 92, bottom: 36, left: 60 };
const COLOURS = { ok: '#2f7d4f', bad: '#c0392b', none: '#bbbbbb', goal: '#555555', axis: '#888888', text: '#222222' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A bar chart with a labelled bar per day; a day with no value shows "no data". */
export function barChart(o: BarChartOptions): string {
  const values = o.bars.flatMap((b) => (b.value === null ? [] : [b.value]));
  const min = o.min ?? 0;
  const max = Math.max(o.max ?? 0, ...values, o.goal?.value ?? 0, min + 1e-9);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const y = (v: number): number => PAD.top + plotH - ((Math.min(Math.max(v, min), max) - min) / (max - min)) * plotH;
  const slot = plotW / Math.max(1, o.bars.length);
  const barW = Math.min(48, slot * 0.6);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-labelledby="t">`,
    `<title>${escapeXml(o.title)}</title>`,
    `<text x="${PAD.left}" y="18" font-size="14" font-weight="bold" fill="${COLOURS.text}">${escapeXml(o.title)}</text>`,
    `<line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${WIDTH - PAD.right}" y2="${PAD.top + plotH}" stroke="${COLOURS.axis}"/>`,
    `<text x="${PAD.left - 6}" y="${y(max) + 4}" font-size="10" text-anchor="end" fill="${COLOURS.axis}">${escapeXml(o.format(max))}</text>`,
    `<text x="${PAD.left - 6}" y="${y(min) + 4}" font-size="10" text-anchor="end" fill="${COLOURS.axis}">${escapeXml(o.format(min))}</text>`,
  ];
  o.bars.forEach((bar, i) => {
    const cx = PAD.left + slot * i + slot / 2;
    parts.push(
      `<text x="${cx}" y="${HEIGHT - PAD.bottom + 16}" font-size="10" text-anchor="middle" fill="${COLOURS.text}">${escapeXml(bar.label)}</text>`,
    );
    if (bar.value === null) {
      parts.push(`<text x="${cx}" y="${PAD.top + plotH - 6}" font-size="9" text-anchor="middle" fill="${COLOURS.none}">no data</text>`);
      return;
    }
    const top = y(bar.value);
    const bad = o.goal !== undefined && (o.goal.good === 'above' ? bar.value < o.goal.value : bar.value > o.goal.value);
    const h = Math.max(1, PAD.top + plotH - top);
    parts.push(
      `<rect x="${cx - barW / 2}" y="${PAD.top + plotH - h}" width="${barW}" height="${h}" fill="${bad ? COLOURS.bad : COLOURS.ok}"><title>${escapeXml(`${bar.label}: ${o.format(bar.value)}`)}</title></rect>`,
      `<text x="${cx}" y="${PAD.top + plotH - h - 4}" font-size="10" text-anchor="middle" fill="${COLOURS.text}">${escapeXml(o.format(bar.value))}</text>`,
    );
  });
  if (o.goal !== undefined) {
    const gy = y(o.goal.value);
    parts.push(
      `<line x1="${PAD.left}" y1="${gy}" x2="${WIDTH - PAD.right}" y2="${gy}" stroke="${COLOURS.goal}" stroke-dasharray="5 4"/>`,
      `<text x="${WIDTH - PAD.right + 6}" y="${gy + 4}" font-size="10" text-anchor="start" fill="${COLOURS.goal}">${escapeXml(o.goal.label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
