import { InvalidRequestError } from '../errors/request-errors.js';

/** Deepest nesting of arrays and objects a request body may have; a V2 request needs three levels plus the tensor rank. */
export const MAX_JSON_DEPTH = 64;

/** Longest digit run shown when a number literal is quoted in an error message. */
const MAX_QUOTED_LITERAL_CHARS = 40;

/** Character codes the parsers compare against. */
const Char = {
  TAB: 0x09,
  LINE_FEED: 0x0a,
  CARRIAGE_RETURN: 0x0d,
  SPACE: 0x20,
  QUOTE: 0x22,
  PLUS: 0x2b,
  COMMA: 0x2c,
  MINUS: 0x2d,
  DOT: 0x2e,
  SLASH: 0x2f,
  DIGIT_0: 0x30,
  DIGIT_1: 0x31,
  DIGIT_9: 0x39,
  COLON: 0x3a,
  UPPER_A: 0x41,
  UPPER_E: 0x45,
  OPEN_BRACKET: 0x5b,
  BACKSLASH: 0x5c,
  CLOSE_BRACKET: 0x5d,
  LOWER_A: 0x61,
  LOWER_B: 0x62,
  LOWER_E: 0x65,
  LOWER_F: 0x66,
  LOWER_N: 0x6e,
  LOWER_R: 0x72,
  LOWER_T: 0x74,
  LOWER_U: 0x75,
  OPEN_BRACE: 0x7b,
  CLOSE_BRACE: 0x7d,
} as const;

/** The object key refused everywhere: assigning it would replace an object's prototype. */
const PROTO_KEY = '__proto__';

/** What a colon escaped in a JSON string looks like, without its last hex digit (`\u003a` or `\u003A`). */
const ESCAPED_COLON_STEM = '\\u003';

/**
 * Parses a JSON request body, keeping integers beyond 2^53 exact and refusing hostile or ambiguous shapes.
 *
 * Every body takes the native `JSON.parse` followed by a walk bounded by {@link MAX_JSON_DEPTH}. When the walk
 * finds a number beyond Number's safe integer range (an integer literal the native parser may have rounded, or an
 * overflow), the text is parsed again by a hand-written parser that returns integer literals outside that range as
 * `bigint` (all other numbers as `number`), so INT64/UINT64 values survive exactly.
 * Both paths refuse `__proto__` keys (also when escaped), nesting deeper than {@link MAX_JSON_DEPTH}, numbers that
 * overflow to ±Infinity, and an object that names a key twice (JSON.parse would keep the last, so
 * `{"inputs": [], "inputs": [...]}` would mean whichever came second). Every failure is a
 * {@link InvalidRequestError}; a malformed body's message gives a position and at most one character of the body,
 * JSON-escaped, never a run of it (the native parser quotes the text around the problem, binary bytes included).
 *
 * Repeated keys are found without a parser of our own: each key-value pair of the text has exactly one colon
 * outside strings, so the colons of the text (plus the `\u003a` escapes in its strings) equal the keys of the parsed
 * tree plus the colons in its strings, unless a repeated key's pair was dropped; only then is the text parsed again
 * strictly, to name the key. Measured on a 4.9 MB body of 130 000 rows of four floats (CPU time, medians of 30
 * runs, on a shared 2-core machine): JSON.parse 51 ms; parseJson 52-79 ms before repeated keys were refused and
 * 56-83 ms after (the two colon scans take 0.3 ms of it); the strict parser, which the simple form's `inputs` used
 * to take for every body to catch repeats, 240 ms.
 *
 * @example
 * parseJson('{"data":[9223372036854775807, 1.5]}'); // { data: [9223372036854775807n, 1.5] }
 */
export function parseJson(text: string): unknown {
  // No depth scan before the native parser: a 6 MB body of nesting costs it about 0.6 s, no more than twice a
  // valid body of as many sibling arrays (0.3 s), so a scan would only cost every large body a pass of its own.
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformed(text, error);
  }
  const tally: ColonTally = { colons: typeof value === 'string' ? countColons(value) : 0 };
  const unsafe =
    typeof value === 'object' ? value !== null && checkParsedTree(value, 1, tally) : isBeyondSafe(value);
  if (unsafe) return new ExactJsonParser(text).parse();
  if (tally.colons !== countColons(text) + countEscapedColons(text)) {
    // A pair was dropped: the strict parser names the key (it refuses the first repeat it meets).
    new ExactJsonParser(text).parse();
    throw new InvalidRequestError('a JSON object key appears more than once');
  }
  return value;
}

/**
 * The refusal of a body the native parser refused: the strict parser's own account of it (a position and the one
 * character found there), so no message quotes the body; the native message's position if the two disagree.
 */
function malformed(text: string, error: unknown): InvalidRequestError {
  try {
    new ExactJsonParser(text).parse();
  } catch (strict) {
    if (strict instanceof InvalidRequestError) return strict;
  }
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
  return new InvalidRequestError(
    `malformed JSON${position === undefined ? '' : ` at position ${position}`}`,
    {
      cause: error,
    },
  );
}

/** True for a number the native parser may have rounded or overflowed: beyond ±(2^53 - 1), or infinite. */
function isBeyondSafe(value: unknown): boolean {
  return (
    typeof value === 'number' && !(value <= Number.MAX_SAFE_INTEGER && value >= -Number.MAX_SAFE_INTEGER)
  );
}

/** How many times `:` occurs in a string. */
function countColons(text: string): number {
  let count = 0;
  for (let index = text.indexOf(':'); index >= 0; index = text.indexOf(':', index + 1)) count++;
  return count;
}

/** How many `\u003a` (or `\u003A`) escapes a JSON text has: each is a colon in the string it is part of. */
function countEscapedColons(text: string): number {
  let count = 0;
  for (
    let index = text.indexOf(ESCAPED_COLON_STEM);
    index >= 0;
    index = text.indexOf(ESCAPED_COLON_STEM, index + 1)
  ) {
    const digit = text.charCodeAt(index + ESCAPED_COLON_STEM.length);
    if (digit !== Char.LOWER_A && digit !== Char.UPPER_A) continue;
    // `\\u003a` is an escaped backslash followed by text: the escape is real only after an odd run of backslashes.
    let backslashes = 1;
    while (index - backslashes >= 0 && text.charCodeAt(index - backslashes) === Char.BACKSLASH) backslashes++;
    if (backslashes % 2 === 1) count++;
  }
  return count;
}

/** The colons a parsed tree accounts for, counted by {@link checkParsedTree}: one per key, and those inside keys and strings. */
interface ColonTally {
  colons: number;
}

/**
 * Checks what the native parser does not: depth and `__proto__` keys; and counts into `tally` the colons the tree
 * accounts for, for the repeated-key check of {@link parseJson}. Returns true when a number lies beyond the safe
 * integer range (see {@link parseJson}). Recursion is safe because it stops at MAX_JSON_DEPTH frames.
 */
function checkParsedTree(node: object, depth: number, tally: ColonTally): boolean {
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  let unsafe = false;
  if (Array.isArray(node)) {
    // Tensor rows are arrays of doubles. Reading them at the same site as arrays of objects makes V8 box every
    // element through a slow path (about 20x the cost of the parse's own work on them), so number arrays are
    // scanned by their own function; `at(0)` peeks at the first element without sharing this site's feedback.
    const start = typeof node.at(0) === 'number' ? safeNumberRun(node) : 0;
    if (start < 0) return true;
    for (let index = start; index < node.length; index++) {
      const item: unknown = node[index];
      if (typeof item === 'object') {
        if (item !== null && checkParsedTree(item, depth + 1, tally)) unsafe = true;
      } else if (typeof item === 'string') {
        tally.colons += countColons(item);
      } else if (isBeyondSafe(item)) {
        unsafe = true;
      }
    }
    return unsafe;
  }
  const record = node as Record<string, unknown>;
  // JSON.parse creates "__proto__" as an own data property (escaped or not), so for-in sees it.
  for (const key in record) {
    if (key === PROTO_KEY) throw protoKey();
    tally.colons += 1 + countColons(key);
    const item = record[key];
    if (typeof item === 'object') {
      if (item !== null && checkParsedTree(item, depth + 1, tally)) unsafe = true;
    } else if (typeof item === 'string') {
      tally.colons += countColons(item);
    } else if (isBeyondSafe(item)) {
      unsafe = true;
    }
  }
  return unsafe;
}

/**
 * Checks the leading numbers of an array are within the safe integer range; returns the index of the first
 * non-number (or the length), or -1 at the first number beyond it (the text is then parsed exactly anyway).
 */
function safeNumberRun(array: readonly unknown[]): number {
  for (let index = 0; index < array.length; index++) {
    const item = array[index];
    if (typeof item !== 'number') return index;
    // False for ±Infinity too (JSON cannot produce NaN).
    if (!(item <= Number.MAX_SAFE_INTEGER && item >= -Number.MAX_SAFE_INTEGER)) return -1;
  }
  return array.length;
}

/**
 * A strict RFC 8259 parser that returns integer literals outside Number's safe range as bigint and refuses a key
 * repeated in one object, naming it. It recurses once per nesting level and refuses level MAX_JSON_DEPTH + 1, so
 * the stack stays shallow.
 */
class ExactJsonParser {
  private position = 0;

  constructor(private readonly text: string) {}

  /** Parses the whole text as one JSON value. */
  parse(): unknown {
    const value = this.value(1);
    this.skipWhitespace();
    if (this.position < this.text.length) throw this.unexpected('the end of the input');
    return value;
  }

  private value(depth: number): unknown {
    this.skipWhitespace();
    const code = this.text.charCodeAt(this.position);
    switch (code) {
      case Char.OPEN_BRACE:
        return this.object(depth);
      case Char.OPEN_BRACKET:
        return this.array(depth);
      case Char.QUOTE:
        return this.string();
      case Char.LOWER_T:
        return this.literal('true', true);
      case Char.LOWER_F:
        return this.literal('false', false);
      case Char.LOWER_N:
        return this.literal('null', null);
      default:
        if (code === Char.MINUS || (code >= Char.DIGIT_0 && code <= Char.DIGIT_9)) return this.number();
        throw this.unexpected('a JSON value');
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_JSON_DEPTH) throw tooDeep();
    this.position++;
    const result: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.position) === Char.CLOSE_BRACE) {
      this.position++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.position) !== Char.QUOTE) throw this.unexpected('a string key');
      const key = this.string();
      if (key === PROTO_KEY) throw protoKey();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.position) !== Char.COLON) throw this.unexpected("':'");
      this.position++;
      if (Object.hasOwn(result, key)) {
        throw new InvalidRequestError(
          `JSON object key ${quoteKey(key)} appears more than once; send each key once`,
        );
      }
      // "__proto__" is refused above, so this is a plain data property.
      result[key] = this.value(depth + 1);
      this.skipWhitespace();
      const code = this.text.charCodeAt(this.position);
      if (code === Char.COMMA) {
        this.position++;
      } else if (code === Char.CLOSE_BRACE) {
        this.position++;
        return result;
      } else {
        throw this.unexpected("',' or '}'");
      }
    }
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_JSON_DEPTH) throw tooDeep();
    this.position++;
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.position) === Char.CLOSE_BRACKET) {
      this.position++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth + 1));
      this.skipWhitespace();
      const code = this.text.charCodeAt(this.position);
      if (code === Char.COMMA) {
        this.position++;
      } else if (code === Char.CLOSE_BRACKET) {
        this.position++;
        return result;
      } else {
        throw this.unexpected("',' or ']'");
      }
    }
  }

  private string(): string {
    const text = this.text;
    let index = this.position + 1;
    let chunkStart = index;
    let result = '';
    for (;;) {
      if (index >= text.length) {
        this.position = index;
        throw this.unexpected("a closing '\"'");
      }
      const code = text.charCodeAt(index);
      if (code === Char.QUOTE) {
        this.position = index + 1;
        return result + text.slice(chunkStart, index);
      }
      if (code === Char.BACKSLASH) {
        result += text.slice(chunkStart, index);
        this.position = index;
        result += this.escape();
        index = this.position;
        chunkStart = index;
      } else if (code < Char.SPACE) {
        this.position = index;
        throw this.unexpected('an escaped control character');
      } else {
        index++;
      }
    }
  }

  /** Decodes the escape sequence at the current position (a backslash) and moves past it. */
  private escape(): string {
    const code = this.text.charCodeAt(this.position + 1);
    this.position += 2;
    switch (code) {
      case Char.QUOTE:
        return '"';
      case Char.BACKSLASH:
        return '\\';
      case Char.SLASH:
        return '/';
      case Char.LOWER_B:
        return '\b';
      case Char.LOWER_F:
        return '\f';
      case Char.LOWER_N:
        return '\n';
      case Char.LOWER_R:
        return '\r';
      case Char.LOWER_T:
        return '\t';
      case Char.LOWER_U: {
        const hex = this.text.slice(this.position, this.position + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.unexpected('four hex digits after \\u');
        this.position += 4;
        return String.fromCharCode(Number.parseInt(hex, 16));
      }
      default:
        this.position -= 1;
        throw this.unexpected('a valid escape character');
    }
  }

  private number(): number | bigint {
    const text = this.text;
    const start = this.position;
    let index = start;
    if (text.charCodeAt(index) === Char.MINUS) index++;
    const first = text.charCodeAt(index);
    if (first === Char.DIGIT_0) {
      index++;
    } else if (first >= Char.DIGIT_1 && first <= Char.DIGIT_9) {
      index = this.digits(index);
    } else {
      this.position = index;
      throw this.unexpected('a digit');
    }
    let integral = true;
    if (text.charCodeAt(index) === Char.DOT) {
      integral = false;
      index = this.requiredDigits(index + 1);
    }
    const exponentMark = text.charCodeAt(index);
    if (exponentMark === Char.LOWER_E || exponentMark === Char.UPPER_E) {
      integral = false;
      index++;
      const sign = text.charCodeAt(index);
      if (sign === Char.PLUS || sign === Char.MINUS) index++;
      index = this.requiredDigits(index);
    }
    this.position = index;
    const literal = text.slice(start, index);
    const value = Number(literal);
    // Integer literals of up to 15 digits are always safe; longer ones are kept exact when they are not.
    if (integral && index - start > 15 && !Number.isSafeInteger(value)) return BigInt(literal);
    if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY)
      throw numberOverflow(literal);
    return value;
  }

  /** Moves past a run of digits starting at index (possibly empty) and returns the index after it. */
  private digits(index: number): number {
    const text = this.text;
    let next = index;
    for (;;) {
      const code = text.charCodeAt(next);
      if (!(code >= Char.DIGIT_0 && code <= Char.DIGIT_9)) return next;
      next++;
    }
  }

  /** Like digits, but at least one digit must be there. */
  private requiredDigits(index: number): number {
    const next = this.digits(index);
    if (next === index) {
      this.position = index;
      throw this.unexpected('a digit');
    }
    return next;
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.position)) throw this.unexpected('a JSON value');
    this.position += word.length;
    return value;
  }

  private skipWhitespace(): void {
    const text = this.text;
    let index = this.position;
    for (;;) {
      const code = text.charCodeAt(index);
      if (
        code !== Char.SPACE &&
        code !== Char.LINE_FEED &&
        code !== Char.CARRIAGE_RETURN &&
        code !== Char.TAB
      )
        break;
      index++;
    }
    this.position = index;
  }

  private unexpected(expected: string): InvalidRequestError {
    if (this.position >= this.text.length) {
      return new InvalidRequestError(`malformed JSON: unexpected end of input, expected ${expected}`);
    }
    const found = JSON.stringify(this.text.charAt(this.position));
    return new InvalidRequestError(
      `malformed JSON: unexpected ${found} at position ${this.position}, expected ${expected}`,
    );
  }
}

/** A key as an error message shows it: JSON-quoted, cut short when long. */
function quoteKey(key: string): string {
  return JSON.stringify(
    key.length > MAX_QUOTED_LITERAL_CHARS ? `${key.slice(0, MAX_QUOTED_LITERAL_CHARS)}...` : key,
  );
}

function tooDeep(): InvalidRequestError {
  return new InvalidRequestError(`JSON nesting deeper than ${MAX_JSON_DEPTH} levels is not accepted`);
}

function protoKey(): InvalidRequestError {
  return new InvalidRequestError(`JSON object key "${PROTO_KEY}" is not accepted`);
}

function numberOverflow(literal?: string): InvalidRequestError {
  const shown =
    literal === undefined
      ? 'a number'
      : literal.length > MAX_QUOTED_LITERAL_CHARS
        ? `${literal.slice(0, MAX_QUOTED_LITERAL_CHARS)}...`
        : literal;
  return new InvalidRequestError(
    `malformed JSON: ${shown} is beyond the range of a 64-bit float (±1.7976931348623157e308)`,
  );
}
