/** Spaces between two columns of a table. */
const COLUMN_GAP = '  ';

/** One column of {@link formatTable}: its header and whether its cells line up on the right (numbers). */
export interface TableColumn {
  readonly header: string;
  /** @default false */
  readonly alignRight?: boolean;
}

/**
 * A plain-text table for terminals: a header line, then one line per row, each column as wide as its widest cell.
 * The last column is not padded, so a long description does not drag trailing spaces along.
 *
 * @example
 * formatTable([{ header: 'VERSION', alignRight: true }, { header: 'SIZE' }], [['1', '1.2 KiB']]);
 */
export function formatTable(columns: readonly TableColumn[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        if (index === columns.length - 1 && !column.alignRight) return cell;
        const width = widths[index] as number;
        return column.alignRight ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(COLUMN_GAP)
      .trimEnd();
  return `${[line(columns.map((column) => column.header)), ...rows.map((row) => line(row))].join('\n')}\n`;
}
