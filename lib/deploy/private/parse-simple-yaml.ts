import { SluiceError } from '../../errors/SluiceError.js';

/** Raised for YAML outside the block subset {@link parseSimpleYaml} reads; names the line. */
export class SimpleYamlError extends SluiceError {}

/** One meaningful line: comment stripped, trailing space trimmed, indentation counted. */
interface Line {
  /** 1-based line number in the source, for messages. */
  readonly number: number;
  /** Leading spaces. */
  readonly indent: number;
  /** The content after the indentation. */
  readonly text: string;
}

/** Characters that start YAML constructs outside the subset (flow collections, anchors, aliases, tags, block scalars, reserved). */
const UNSUPPORTED_SCALAR_START = /^[[{&*!|>%@`]/;

/** The key written in JSON objects that would replace a prototype; refused like lib/tensor/parse-json.ts does. */
const PROTO_KEY = '__proto__';

/**
 * Parses the block subset of YAML that CodeDeploy AppSpecs are written in: mappings, sequences (also
 * `- key: value` items), plain, single- and double-quoted scalars, comments and a leading `---`.
 *
 * Every scalar comes back as a string (YAML's failsafe schema); the schema that reads the result decides
 * what is a number. Anything else (flow collections, anchors, tags, block scalars, tabs) is refused with
 * the line number rather than misread: the caller gets a value or an error, never a guess.
 *
 * @example
 * parseSimpleYaml('version: 0.0\nResources:\n  - fn:\n      Type: AWS::Lambda::Function');
 * // { version: '0.0', Resources: [{ fn: { Type: 'AWS::Lambda::Function' } }] }
 */
export function parseSimpleYaml(source: string): unknown {
  const reader = new LineReader(toLines(source));
  const first = reader.peek();
  if (first === undefined) return null;
  const value = parseBlock(reader, first.indent);
  const rest = reader.peek();
  if (rest !== undefined)
    throw lineError(rest, 'does not continue the document above it (check the indentation)');
  return value;
}

/** A cursor over the lines; the current line can be replaced by the part after a `- `. */
class LineReader {
  #position = 0;

  constructor(private readonly lines: Line[]) {}

  peek(): Line | undefined {
    return this.lines[this.#position];
  }

  next(): void {
    this.#position++;
  }

  replace(line: Line): void {
    this.lines[this.#position] = line;
  }
}

function toLines(source: string): Line[] {
  const lines: Line[] = [];
  const raw = source.split(/\r?\n/);
  for (const [index, content] of raw.entries()) {
    const number = index + 1;
    const indentation = /^[ \t]*/.exec(content)?.[0] ?? '';
    const text = stripComment(content.slice(indentation.length), number).trimEnd();
    if (text === '') continue;
    if (indentation.includes('\t'))
      throw lineError({ number, indent: 0, text }, 'tabs are not allowed in indentation');
    if (text === '---' && lines.length === 0) continue;
    if (text === '...') break;
    if (text.startsWith('---'))
      throw lineError({ number, indent: 0, text }, 'only one YAML document is supported');
    lines.push({ number, indent: indentation.length, text });
  }
  return lines;
}

/**
 * Removes a comment: `#` at the start or after a space, outside quotes. Quotes open only where a scalar
 * or key can start, so an apostrophe inside a plain scalar (`it's`) is text.
 */
function stripComment(text: string, number: number): string {
  let quote: '"' | "'" | undefined;
  let previous = ' ';
  for (let index = 0; index < text.length; index++) {
    const char = text.charAt(index);
    if (quote === '"') {
      if (char === '\\') index++;
      else if (char === '"') quote = undefined;
    } else if (quote === "'") {
      if (char === "'") {
        if (text.charAt(index + 1) === "'") index++;
        else quote = undefined;
      }
    } else if (char === '#' && (previous === ' ' || previous === '\t')) {
      return text.slice(0, index);
    } else if ((char === '"' || char === "'") && startsScalar(text.slice(0, index))) {
      quote = char;
    }
    previous = char;
  }
  if (quote !== undefined)
    throw lineError({ number, indent: 0, text }, `unterminated ${quote}-quoted string`);
  return text;
}

/** Whether a scalar or key may start after this text: at the start, or after `- ` or `: `. */
function startsScalar(before: string): boolean {
  const trimmed = before.trimEnd();
  return trimmed === '' || trimmed.endsWith(':') || trimmed.endsWith('-');
}

function parseBlock(reader: LineReader, indent: number): unknown {
  const line = reader.peek();
  if (line !== undefined && isSequenceItem(line.text)) return parseSequence(reader, indent);
  return parseMapping(reader, indent);
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

function parseSequence(reader: LineReader, indent: number): unknown[] {
  const items: unknown[] = [];
  // A line at this indentation that is not an item ends the sequence: it is the next key of the enclosing
  // mapping when the sequence hangs at its key's indentation (`key:` then `- item`).
  for (
    let line = reader.peek();
    line !== undefined && line.indent === indent && isSequenceItem(line.text);
    line = reader.peek()
  ) {
    const rest = line.text.slice(1).trimStart();
    if (rest === '') {
      reader.next();
      items.push(parseNested(reader, indent, false));
      continue;
    }
    // "- key: value" opens a mapping whose keys line up with "key"; likewise "- - item".
    const restIndent = indent + line.text.length - rest.length;
    if (isSequenceItem(rest) || splitKey(rest, line) !== undefined) {
      reader.replace({ number: line.number, indent: restIndent, text: rest });
      items.push(parseBlock(reader, restIndent));
    } else {
      reader.next();
      items.push(parseScalar(rest, line));
    }
  }
  const after = reader.peek();
  if (after !== undefined && after.indent > indent) throw lineError(after, 'unexpected indentation');
  return items;
}

function parseMapping(reader: LineReader, indent: number): Record<string, unknown> {
  const mapping: Record<string, unknown> = {};
  for (let line = reader.peek(); line !== undefined && line.indent === indent; line = reader.peek()) {
    if (isSequenceItem(line.text)) throw lineError(line, 'a sequence item where a "key: value" was expected');
    const entry = splitKey(line.text, line);
    if (entry === undefined) throw lineError(line, 'expected "key: value"');
    if (entry.key === PROTO_KEY) throw lineError(line, `key "${PROTO_KEY}" is not accepted`);
    if (Object.hasOwn(mapping, entry.key)) throw lineError(line, `key "${entry.key}" appears twice`);
    reader.next();
    // A key with nothing after it owns the deeper lines below it, or a sequence at its own indentation.
    mapping[entry.key] =
      entry.value === '' ? parseNested(reader, indent, true) : parseScalar(entry.value, line);
  }
  const after = reader.peek();
  if (after !== undefined && after.indent > indent) throw lineError(after, 'unexpected indentation');
  return mapping;
}

function parseNested(reader: LineReader, parentIndent: number, sequenceMayAlign: boolean): unknown {
  const next = reader.peek();
  if (next === undefined) return null;
  if (next.indent > parentIndent) return parseBlock(reader, next.indent);
  if (sequenceMayAlign && next.indent === parentIndent && isSequenceItem(next.text)) {
    return parseSequence(reader, parentIndent);
  }
  return null;
}

/** Splits `key: value` (key plain or quoted); undefined when the text is not a mapping entry. */
function splitKey(text: string, line: Line): { key: string; value: string } | undefined {
  const first = text.charAt(0);
  if (first === '"' || first === "'") {
    const end = closingQuote(text, first);
    if (end < 0) return undefined;
    const after = text.slice(end + 1);
    if (!(after === ':' || after.startsWith(': '))) return undefined;
    return { key: unquote(text.slice(0, end + 1), line), value: after.slice(1).trim() };
  }
  const colon = text.endsWith(':') && !text.includes(': ') ? text.length - 1 : text.indexOf(': ');
  if (colon <= 0) return undefined;
  return { key: text.slice(0, colon).trimEnd(), value: text.slice(colon + 1).trim() };
}

/** Index of the quote closing the string that opens at index 0, or -1. */
function closingQuote(text: string, quote: string): number {
  for (let index = 1; index < text.length; index++) {
    const char = text.charAt(index);
    if (quote === '"' && char === '\\') index++;
    else if (char === quote) {
      if (quote === "'" && text.charAt(index + 1) === "'") index++;
      else return index;
    }
  }
  return -1;
}

function parseScalar(text: string, line: Line): string {
  const first = text.charAt(0);
  if (first === '"' || first === "'") {
    if (closingQuote(text, first) !== text.length - 1) throw lineError(line, 'text after a quoted string');
    return unquote(text, line);
  }
  if (UNSUPPORTED_SCALAR_START.test(text)) {
    throw lineError(
      line,
      `"${first}" starts YAML outside the supported subset (use JSON for flow collections)`,
    );
  }
  return text;
}

function unquote(quoted: string, line: Line): string {
  if (quoted.startsWith("'")) return quoted.slice(1, -1).replaceAll("''", "'");
  try {
    // YAML's double-quoted escapes that AppSpecs use (\" \\ \n \t \uXXXX) are JSON's.
    const value: unknown = JSON.parse(quoted);
    if (typeof value === 'string') return value;
  } catch {
    // Reported below with the line number.
  }
  throw lineError(line, `unsupported escape in ${quoted}`);
}

function lineError(line: Line, message: string): SimpleYamlError {
  return new SimpleYamlError(`YAML line ${line.number}: ${message}`);
}
