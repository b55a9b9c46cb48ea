import { escapeXml } from './svg/chart-frame.js';

/**
 * The report page shell. Self-contained by construction: inline CSS, inline SVG, no script,
 * no external font or image, and a Content-Security-Policy that forbids fetching anything,
 * so even a mistake cannot make the page reach the network.
 */
export const escapeHtml = escapeXml;

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #18181b; background: #f4f4f5; }
header { background: #18181b; color: #fafafa; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: #a1a1aa; font-size: 13px; }
main { max-width: 1220px; margin: 0 auto; padding: 18px 28px 40px; }
section { background: #fff; border: 1px solid #e4e4e7; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
section h2 { margin: 0 0 10px; font-size: 16px; }
section p.note { color: #52525b; margin: 4px 0 10px; font-size: 13px; }
section p.limitation { color: #92400e; background: #fffbeb; border: 1px solid #fde68a; border-radius: 6px; padding: 8px 12px; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
.grid > figure { margin: 0; flex: 1 1 520px; max-width: 580px; }
figure svg.chart { width: 100%; height: auto; display: block; }
figcaption { color: #52525b; font-size: 12px; margin-top: 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e7; text-align: left; vertical-align: top; }
th { background: #fafafa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { color: #b91c1c; font-weight: 600; }
td.good { color: #15803d; }
tr.highlight td, td.highlight { background: #fef3c7; font-weight: 600; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 13px; }
.kv.wide { grid-template-columns: repeat(3, max-content minmax(80px, 1fr)); }
.kv dt { color: #52525b; }
.kv dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 6px; }
.card { border: 1px solid #e4e4e7; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card .label { color: #52525b; font-size: 12px; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.status-FINISHED { color: #15803d; } .status-FAILED, .status-KILLED { color: #b91c1c; } .status-RUNNING { color: #a16207; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #3f3f46; }
svg .tick { font-size: 11px; } svg .legend { font-size: 12px; } svg .axis-label { font-size: 12px; fill: #52525b; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: #18181b; }
svg .cell-count { font-size: 18px; font-weight: 600; } svg .cell-share { font-size: 11px; }
footer { color: #71717a; font-size: 12px; text-align: center; padding: 10px; }
`;

export interface PageOptions {
  readonly title: string;
  readonly subtitle: string;
  readonly sections: readonly string[];
  readonly footer: string;
}

export function renderPage(options: PageOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(options.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(options.title)}</h1><p>${escapeHtml(options.subtitle)}</p></header>
<main>
${options.sections.join('\n')}
</main>
<footer>${escapeHtml(options.footer)}</footer>
</body>
</html>
`;
}

/** A titled section; `body` is already HTML. */
export function section(id: string, title: string, body: string, note?: string): string {
  return `<section id="${escapeHtml(id)}"><h2>${escapeHtml(title)}</h2>${note === undefined ? '' : `<p class="note">${escapeHtml(note)}</p>`}${body}</section>`;
}

/** Charts side by side, each with an optional caption. */
export function figures(items: readonly { readonly svg: string; readonly caption?: string }[]): string {
  return `<div class="grid">${items
    .map((f) => `<figure>${f.svg}${f.caption === undefined ? '' : `<figcaption>${escapeHtml(f.caption)}</figcaption>`}</figure>`)
    .join('')}</div>`;
}

export interface HtmlCell {
  readonly text: string;
  readonly className?: string;
  /** Inline style (a series colour swatch). */
  readonly style?: string;
}

export type CellInput = string | number | null | undefined | HtmlCell;

/** An HTML table; numbers are right-aligned and shown with `digits` decimals. */
export function htmlTable(
  head: readonly string[],
  rows: readonly (readonly CellInput[])[],
  options: { readonly digits?: number; readonly rowClass?: (index: number) => string | undefined } = {},
): string {
  const digits = options.digits ?? 4;
  const renderCell = (cell: CellInput): string => {
    if (cell === null || cell === undefined) return '<td></td>';
    if (typeof cell === 'number') return `<td class="num">${escapeHtml(formatValue(cell, digits))}</td>`;
    if (typeof cell === 'string') return `<td>${escapeHtml(cell)}</td>`;
    const cls = cell.className === undefined ? '' : ` class="${escapeHtml(cell.className)}"`;
    const style = cell.style === undefined ? '' : ` style="${escapeHtml(cell.style)}"`;
    return `<td${cls}${style}>${escapeHtml(cell.text)}</td>`;
  };
  const body = rows
    .map((row, i) => {
      const cls = options.rowClass?.(i);
      return `<tr${cls === undefined ? '' : ` class="${escapeHtml(cls)}"`}>${row.map(renderCell).join('')}</tr>`;
    })
    .join('');
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A definition list of facts (run id, dataset hash…). */
export function keyValues(entries: readonly (readonly [string, string | number | null | undefined])[], wide = false): string {
  return `<dl class="kv${wide ? ' wide' : ''}">${entries
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v === null ? '—' : String(v))}</dd>`)
    .join('')}</dl>`;
}

/** Headline numbers as cards. */
export function metricCards(metrics: Readonly<Record<string, number>>): string {
  return `<div class="cards">${Object.entries(metrics)
    .map(([k, v]) => `<div class="card"><div class="label">${escapeHtml(k)}</div><div class="value">${escapeHtml(formatValue(v, 4))}</div></div>`)
    .join('')}</div>`;
}

export function formatValue(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  if (Math.abs(value) >= 1000) return value.toLocaleString('en-US', { maximumFractionDigits: 1 });
  return value.toFixed(digits);
}
