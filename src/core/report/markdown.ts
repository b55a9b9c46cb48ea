/** GitHub-flavoured Markdown, for pull-request comments and job summaries. */

export type Cell = string | number | boolean | null | undefined;

/** Escapes what would break a table cell or start markup. */
export function escapeMarkdown(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/([*_`[\]<>])/g, '\\$1');
}

/** A pipe table; `alignRight` lists numeric columns. Empty cells for null/undefined. */
export function markdownTable(head: readonly string[], rows: readonly (readonly Cell[])[], alignRight: readonly number[] = []): string {
  const cell = (value: Cell): string => (value === null || value === undefined ? '' : escapeMarkdown(String(value)));
  const lines = [
    `| ${head.map(cell).join(' | ')} |`,
    `|${head.map((_, i) => (alignRight.includes(i) ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((row) => `| ${head.map((_, i) => cell(row[i])).join(' | ')} |`),
  ];
  return lines.join('\n');
}
