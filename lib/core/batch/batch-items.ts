import * as z from 'zod';

/**
 * Most rows one batch request carries when the run does not say: enough that a small model's session.run
 * dominates, few enough that a batch of a wide model stays far below a synchronous Lambda payload (6 MB).
 */
export const DEFAULT_BATCH_ROWS = 256;

/** Most rows a batch may carry (`--batch-size`). */
export const MAX_BATCH_ROWS = 10_000;

/** The formats of a batch input file. */
export const BatchInputFormat = {
  /** One JSON value per line: a row (array) of a single-input model, or `{"id"?, "row"}` / `{"id"?, "inputs"}`. */
  JSON_LINES: 'jsonl',
  /** A header line, then one row per line: the single input's values in the header's order, `id` optional. */
  CSV: 'csv',
} as const;
/** One batch input format. */
export type BatchInputFormat = (typeof BatchInputFormat)[keyof typeof BatchInputFormat];

/** One row to score, with where it came from, so its result names it. */
export interface BatchItem {
  /** The input file (its name, or its S3 key). */
  readonly source: string;
  /** Its line in the file, from 1 (a CSV's header is line 1). */
  readonly line: number;
  /** The row's own id, when it has one. */
  readonly id?: string;
  /** Each input's value for this row (the tensor without its batch dimension). */
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** A line that is not a row: reported in the results, never dropped. */
export interface ItemError {
  readonly source: string;
  readonly line: number;
  readonly error: string;
}

/** What a file gives: its rows, and the lines that are none. */
export interface ParsedItems {
  readonly items: BatchItem[];
  readonly errors: ItemError[];
}

const IdSchema = z.union([z.string().min(1).max(256), z.number()]).transform(String);

const JsonLineSchema = z.union([
  z.array(z.unknown()),
  z.strictObject({ id: IdSchema.optional(), row: z.array(z.unknown()) }),
  z.strictObject({ id: IdSchema.optional(), inputs: z.record(z.string(), z.unknown()) }),
]);

/**
 * The rows of a JSON lines file for a model with inputs `inputNames`: each non-blank line one row (see
 * {@link itemOfJson}). A line that is not JSON is an error of its own; the others still count.
 *
 * @example
 * parseJsonLines('[5.1, 3.5, 1.4, 0.2]\n{"id": "b", "row": [6.7, 3, 5.2, 2.3]}', 'rows.jsonl', ['features']).items.length; // 2
 */
export function parseJsonLines(text: string, source: string, inputNames: readonly string[]): ParsedItems {
  const items: BatchItem[] = [];
  const errors: ItemError[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      errors.push({ source, line, error: `not JSON: ${(error as Error).message}` });
      return;
    }
    const item = itemOfJson(json, source, line, inputNames);
    if ('error' in item) errors.push(item);
    else items.push(item);
  });
  return { items, errors };
}

/**
 * One row from one JSON value: an array (a single-input model's row), `{"id": ..., "row": [...]}`, or
 * `{"id": ..., "inputs": {name: value}}` (every input); anything else, or other inputs, is an error naming why.
 * What a JSON lines file's line is, and what Step Functions' JSON lines reader hands a batch.
 *
 * @example
 * itemOfJson({ id: 'a', row: [1, 2] }, 'rows.jsonl', 3, ['features']); // { source, line: 3, id: 'a', inputs: { features: [1, 2] } }
 */
export function itemOfJson(
  json: unknown,
  source: string,
  line: number,
  inputNames: readonly string[],
): BatchItem | ItemError {
  const parsed = JsonLineSchema.safeParse(json);
  if (!parsed.success) {
    return {
      source,
      line,
      error: 'a line is a row (an array), {"id", "row"} or {"id", "inputs": {name: value}}',
    };
  }
  const value = parsed.data;
  const [only, ...more] = inputNames;
  if (Array.isArray(value) || 'row' in value) {
    if (only === undefined || more.length > 0) {
      return {
        source,
        line,
        error: `the model has inputs ${inputNames.join(', ')}: give each as {"inputs": {name: value}}`,
      };
    }
    const row = Array.isArray(value) ? value : value.row;
    const id = Array.isArray(value) ? undefined : value.id;
    return { source, line, ...(id === undefined ? {} : { id }), inputs: { [only]: row } };
  }
  const given = Object.keys(value.inputs).sort();
  const expected = [...inputNames].sort();
  if (given.join(',') !== expected.join(',')) {
    return {
      source,
      line,
      error: `inputs must be ${expected.join(', ')}; got ${given.join(', ') || 'none'}`,
    };
  }
  return { source, line, ...(value.id === undefined ? {} : { id: value.id }), inputs: value.inputs };
}

/**
 * The rows of a CSV file with a header, for a single-input model (see {@link itemOfCsvRecord}). Quoted fields are
 * not read (model rows are numbers).
 *
 * @example
 * parseCsv('id,a,b,c,d\nx,5.1,3.5,1.4,0.2', 'rows.csv', ['features']).items[0]?.inputs; // { features: [5.1, 3.5, 1.4, 0.2] }
 */
export function parseCsv(text: string, source: string, inputNames: readonly string[]): ParsedItems {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((name) => name.trim());
  if (inputNames.length !== 1) {
    return {
      items: [],
      errors: [
        {
          source,
          line: 1,
          error: `CSV rows fit a single-input model; this one has ${inputNames.join(', ')}: use JSON lines`,
        },
      ],
    };
  }
  const items: BatchItem[] = [];
  const errors: ItemError[] = [];
  lines.slice(1).forEach((raw, index) => {
    const line = index + 2;
    if (raw.trim() === '') return;
    const fields = raw.split(',').map((field) => field.trim());
    if (fields.length !== header.length) {
      errors.push({ source, line, error: `${fields.length} fields; the header has ${header.length}` });
      return;
    }
    const record = Object.fromEntries(header.map((name, column) => [name, fields[column] ?? '']));
    const item = itemOfCsvRecord(record, header, source, line, inputNames);
    if ('error' in item) errors.push(item);
    else items.push(item);
  });
  return { items, errors };
}

/**
 * One row from one CSV record (its fields by column name, as Step Functions' CSV reader hands them): every column
 * of `header` but `id` one of the single input's values, in the header's order, as a number.
 *
 * @example
 * itemOfCsvRecord({ id: 'x', a: '1', b: '2' }, ['id', 'a', 'b'], 'rows.csv', 2, ['features']); // inputs: { features: [1, 2] }
 */
export function itemOfCsvRecord(
  record: Readonly<Record<string, string>>,
  header: readonly string[],
  source: string,
  line: number,
  inputNames: readonly string[],
): BatchItem | ItemError {
  const [only, ...more] = inputNames;
  if (only === undefined || more.length > 0) {
    return {
      source,
      line,
      error: `CSV rows fit a single-input model; this one has ${inputNames.join(', ')}: use JSON lines`,
    };
  }
  const row: number[] = [];
  for (const name of header) {
    if (name === 'id') continue;
    const field = (record[name] ?? '').trim();
    const value = Number(field);
    if (field === '' || !Number.isFinite(value)) {
      return { source, line, error: `column ${name} is not a number: ${JSON.stringify(field)}` };
    }
    row.push(value);
  }
  const id = record.id?.trim();
  return { source, line, ...(id ? { id } : {}), inputs: { [only]: row } };
}

/** The name of a file `sluice batch` reads: JSON lines or CSV. */
export const BATCH_INPUT_NAME = /\.(jsonl|csv)$/i;

/** The format of a file by its name: `.csv`, else JSON lines. */
export function formatOf(name: string): BatchInputFormat {
  return name.toLowerCase().endsWith('.csv') ? BatchInputFormat.CSV : BatchInputFormat.JSON_LINES;
}

/** Consecutive batches of at most `size` rows, in order. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}
