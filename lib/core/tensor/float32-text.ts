/**
 * Float32 and float16 values as their shortest round-trip decimal text, written as JSON arrays.
 *
 * A float32 output written in float64's shortest form (`JSON.stringify`) spends 17-20 characters on digits
 * the float32 does not have (`0.10000000149011612`). Here each value gets the fewest significant digits that
 * read back as the same float32 through `Math.fround(JSON.parse(text))` (the same half through a float16
 * conversion); when several decimals of that length read back, the one closest to the exact value, as JS picks
 * for float64, and of an exact tie (0.0078125 as a half: 0.007812 or 0.007813) the even one, as ECMAScript's
 * Number::toString asks. Notation follows JS Number-to-string: decimal for 1e-6 <= |v| < 1e21 (`0.000001`, `123`),
 * exponent form otherwise (`1e-7`, `1.5e+21`, `3.4028235e+38`). -0 is written `-0` (valid JSON, and JSON.parse
 * gives -0 back), unlike JSON.stringify's `0`; NaN and ±Infinity are `null`, as JSON.stringify writes them.
 *
 * The text is ASCII only, written as bytes into a reused buffer, so its length is its UTF-8 size.
 */
import { fromFloat16Bits, toFloat16Bits } from './float16.js';

/** Scratch buffers up to this size are kept between calls; larger outputs get a buffer of their own. */
const MAX_SCRATCH_BYTES = 16 * 1024 * 1024;

/** Most characters one float32 takes with its comma: `-123456789000000000000,` (23); float16 takes fewer. */
const MAX_VALUE_CHARS = 24;

/** A first guess of the characters per value, so most outputs need no second buffer (uniform floats take ~11). */
const TYPICAL_VALUE_CHARS = 13;

/** Largest power of ten a double holds exactly: scaling by 10^s, |s| <= 22, is one correctly rounded operation. */
const MAX_EXACT_POWER = 22;

/** Most significant digits a float32 needs: 9 always read back. */
const FLOAT32_MAX_DIGITS = 9;

/** Largest scaling a normal float32 needs: 9 digits of 1.2e-38 (decimal exponent -38) is × 10^46. */
const MAX_SCALE = FLOAT32_MAX_DIGITS - 1 + 38;

/**
 * Absolute slack, in units of the last digit, that decides a digit count from the approximate scaled value and
 * half-ulp alone. Scaled values stay below 2^30 and carry at most two roundings (the product, and the power of
 * ten beyond 10^22), under 2^-22 of a unit; reading a decimal back moves it by under 2^-23. A distance closer
 * than this to the half-ulp, or to a tie, is decided exactly.
 */
const SURE_MARGIN = 2 ** -20;

const CHAR = {
  zero: 0x30,
  minus: 0x2d,
  plus: 0x2b,
  dot: 0x2e,
  comma: 0x2c,
  e: 0x65,
  open: 0x5b,
  close: 0x5d,
} as const;

/** `null`, written for NaN and ±Infinity. */
const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c] as const;

/** 10^0 .. 10^MAX_SCALE, the nearest doubles (exact up to 10^22). */
const POW10: readonly number[] = Array.from({ length: MAX_SCALE + 1 }, (_, power) => Number(`1e${power}`));

/** The two ASCII digits of 0..99, for writing digits in pairs. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, index) =>
  index % 2 === 0 ? CHAR.zero + Math.floor(index / 20) : CHAR.zero + (((index - 1) / 2) % 10),
);

/**
 * By float32 biased exponent (1..254): the decimal exponent of its smallest value (floor(log10 2^(E-127))), and
 * the power of ten from which a value of that binary exponent has the next decimal exponent. Replaces
 * Math.log10 per value with one comparison.
 */
const DECIMAL_EXPONENT = new Int16Array(256);
const NEXT_DECIMAL_POWER = new Float64Array(256);
/** By biased exponent (1..254): half a unit in the last place, 2^(E-151). */
const HALF_ULP = new Float64Array(256);
/**
 * By biased exponent and whether the value is past NEXT_DECIMAL_POWER: the digit count to try first, one fewer
 * than the count whose unit the float's ulp spans (which always reads back). It reads back about half the time,
 * so most values are settled by two digit counts.
 */
const FIRST_DIGITS = new Int8Array(512);
for (let biased = 1; biased < 255; biased++) {
  const binary = biased - 127;
  const decimal = Math.floor(Math.log10(2 ** binary));
  DECIMAL_EXPONENT[biased] = decimal;
  NEXT_DECIMAL_POWER[biased] = Number(`1e${decimal + 1}`);
  const ulp = 2 ** (binary - 23);
  HALF_ULP[biased] = ulp / 2;
  for (let step = 0; step < 2; step++) {
    // The fewest digits whose unit, 10^(e-p+1), is below one ulp: some decimal of that length always reads back.
    let digits = 1;
    while (digits < FLOAT32_MAX_DIGITS && 10 ** (decimal + step - digits + 1) >= ulp) digits++;
    FIRST_DIGITS[biased * 2 + step] = Math.max(1, digits - 1);
  }
}

let scratch: Buffer | undefined;

/** A buffer of at least `bytes`, reused between calls when it is small enough to keep. */
function scratchBuffer(bytes: number): Buffer {
  if (scratch && scratch.length >= bytes) return scratch;
  const buffer = Buffer.allocUnsafe(Math.max(bytes, 4096));
  if (buffer.length <= MAX_SCRATCH_BYTES) scratch = buffer;
  return buffer;
}

/** A larger buffer holding the first `used` bytes of `buffer`. */
function grow(buffer: Buffer, used: number): Buffer {
  const larger = scratchBuffer(buffer.length * 2);
  buffer.copy(larger, 0, 0, used);
  return larger;
}

/** What the digit search settles on: value = digits × 10^(exponent - count + 1), `digits` has `count` digits. */
let foundDigits = 0;
let foundCount = 0;
let foundExponent = 0;

/**
 * Writes float32 values as a JSON array of their shortest round-trip texts (see the module comment).
 *
 * Hand-written over a toPrecision(1..9) loop with a Math.fround check (3.5-5.8 s for 1M uniform floats) and
 * the first prototype's division check per digit count (115-140 ms): 1M uniform floats take 55-90 ms on the
 * 2-core machine, 2.3-2.8x faster than JSON.stringify(Array.from(x)) (bench/encoding-rows.ts), at 10.6
 * characters a value where the float64 form takes 19.3.
 *
 * @example
 * encodeFloat32Json(new Float32Array([0.1, -0, 1e-7, Number.NaN])); // '[0.1,-0,1e-7,null]'
 */
export function encodeFloat32Json(data: Float32Array): string {
  const length = data.length;
  const words = new Uint32Array(data.buffer, data.byteOffset, length);
  let buffer = scratchBuffer(length * TYPICAL_VALUE_CHARS + 2);
  let limit = buffer.length - MAX_VALUE_CHARS - 1;
  let at = 0;
  buffer[at++] = CHAR.open;
  for (let index = 0; index < length; index++) {
    if (at > limit) {
      buffer = grow(buffer, at);
      limit = buffer.length - MAX_VALUE_CHARS - 1;
    }
    if (index > 0) buffer[at++] = CHAR.comma;
    const word = words[index] as number;
    const biased = (word >>> 23) & 0xff;
    if (biased === 0xff) {
      at = writeNull(buffer, at);
      continue;
    }
    if (word >>> 31 === 1) buffer[at++] = CHAR.minus;
    if ((word & 0x7fffffff) === 0) {
      buffer[at++] = CHAR.zero;
      continue;
    }
    const value = data[index] as number;
    const magnitude = value < 0 ? -value : value;
    // The digit search is inlined here (a function returning three numbers cost ~25% more on 1M floats).
    let exponent = DECIMAL_EXPONENT[biased] as number;
    let step = 0;
    if (magnitude >= (NEXT_DECIMAL_POWER[biased] as number)) {
      exponent++;
      step = 1;
    }
    let digits = -1;
    let count = FIRST_DIGITS[biased * 2 + step] as number;
    if (biased !== 0) {
      const halfUlp = HALF_ULP[biased] as number;
      const powerOfTwo = (word & 0x7fffff) === 0;
      digits = nearestReadingBack(magnitude, halfUlp, count - 1 - exponent, powerOfTwo);
      if (digits >= 0) {
        while (count > 1) {
          const shorter = nearestReadingBack(magnitude, halfUlp, count - 2 - exponent, powerOfTwo);
          if (shorter < 0) break;
          digits = shorter;
          count--;
        }
      } else {
        while (digits < 0 && count < FLOAT32_MAX_DIGITS) {
          count++;
          digits = nearestReadingBack(magnitude, halfUlp, count - 1 - exponent, powerOfTwo);
        }
      }
      // Walking down stops at one digit, so a carry (9.99.. as 10) only ever shows as 10 at one digit.
      if (digits >= (POW10[count] as number)) {
        digits /= 10;
        exponent++;
      }
    }
    if (digits < 0) {
      findShortestExact(magnitude, Math.fround, magnitude);
      digits = foundDigits;
      count = foundCount;
      exponent = foundExponent;
    }
    at = writeDecimal(buffer, at, digits, count, exponent);
  }
  buffer[at++] = CHAR.close;
  return buffer.toString('latin1', 0, at);
}

/**
 * Writes float16 values (bit patterns, or the numbers of a Float16Array) as a JSON array of their shortest texts
 * that convert back to the same half (at most 5 significant digits; notation, -0, NaN and ±Infinity as for FP32).
 *
 * @example
 * encodeFloat16Json(Uint16Array.of(0x3c00, 0x3555)); // '[1,0.3333]'
 */
export function encodeFloat16Json(data: ArrayLike<number>): string {
  const length = data.length;
  const bitPatterns = data instanceof Uint16Array;
  const cache = halfCache();
  // A sign, the text and a comma per value.
  const buffer = scratchBuffer(length * (HALF_CACHE_STRIDE + 2) + 2);
  let at = 0;
  buffer[at++] = CHAR.open;
  for (let index = 0; index < length; index++) {
    if (index > 0) buffer[at++] = CHAR.comma;
    const value = data[index] as number;
    const bits = bitPatterns ? value : toFloat16Bits(value);
    if ((bits & 0x7c00) === 0x7c00) {
      at = writeNull(buffer, at);
      continue;
    }
    if (bits & 0x8000) buffer[at++] = CHAR.minus;
    const magnitude = bits & 0x7fff;
    let size = cache.lengths[magnitude] as number;
    if (size === 0) size = fillHalf(cache, magnitude);
    const from = magnitude * HALF_CACHE_STRIDE;
    for (let offset = 0; offset < size; offset++) buffer[at++] = cache.bytes[from + offset] as number;
  }
  buffer[at++] = CHAR.close;
  return buffer.toString('latin1', 0, at);
}

/**
 * The shortest round-trip text of one float32 value (`-0` for negative zero, `null` for NaN and ±Infinity).
 *
 * @example
 * float32Text(Math.fround(0.1)); // '0.1'
 */
export function float32Text(value: number): string {
  const text = encodeFloat32Json(Float32Array.of(value));
  return text.slice(1, -1);
}

/**
 * Of the two integers next to magnitude × 10^scale, the one closer to it that reads back as the same float32;
 * -1 when neither does. (Any decimal of that length that reads back is within the round-trip interval around
 * the value, and so is the one of these two on its side.)
 */
function nearestReadingBack(magnitude: number, halfUlp: number, scale: number, powerOfTwo: boolean): number {
  let scaled: number;
  let half: number;
  if (scale >= 0) {
    const power = POW10[scale] as number;
    scaled = magnitude * power;
    half = halfUlp * power;
  } else {
    const power = POW10[-scale] as number;
    scaled = magnitude / power;
    half = halfUlp / power;
  }
  const below = Math.floor(scaled);
  const fraction = scaled - below;
  const distance = fraction < 0.5 ? fraction : 1 - fraction;
  // Beyond half an ulp (plus slack) from the nearer integer, neither reads back; at a power of two too, whose
  // interval below is narrower.
  if (distance > half + SURE_MARGIN) return -1;
  if (!powerOfTwo) {
    const nearTie = fraction > 0.5 - SURE_MARGIN && fraction < 0.5 + SURE_MARGIN;
    if (distance < half - SURE_MARGIN && !nearTie) return fraction < 0.5 ? below : below + 1;
  }
  return nearestReadingBackExactly(magnitude, scale, below, fraction);
}

/** nearestReadingBack's exact decision: each candidate read back as JSON.parse would, ties broken exactly. */
function nearestReadingBackExactly(
  magnitude: number,
  scale: number,
  below: number,
  fraction: number,
): number {
  const belowReads = readsBackScaled(below, scale, magnitude);
  const aboveReads = readsBackScaled(below + 1, scale, magnitude);
  if (!belowReads) return aboveReads ? below + 1 : -1;
  if (!aboveReads) return below;
  if (fraction < 0.5 - SURE_MARGIN) return below;
  if (fraction > 0.5 + SURE_MARGIN) return below + 1;
  return exactlyCloserToBelow(magnitude, scale, below) ? below : below + 1;
}

/**
 * Whether digits × 10^-scale reads back as `magnitude`: within 10^±22, one correctly rounded division (or
 * multiplication) of exact operands gives the double JSON.parse gives; beyond, JSON.parse's own reading. Then
 * Math.fround gives the float32.
 */
function readsBackScaled(digits: number, scale: number, magnitude: number): boolean {
  const read =
    scale > MAX_EXACT_POWER || scale < -MAX_EXACT_POWER
      ? Number(`${digits}e${-scale}`)
      : scale >= 0
        ? digits / (POW10[scale] as number)
        : digits * (POW10[-scale] as number);
  return Math.fround(read) === magnitude;
}

/** Records what the search found, folding a carry (9.99.. read as 10) into the exponent. */
function settle(digits: number, count: number, exponent: number): void {
  let value = digits;
  let size = count;
  let power = exponent;
  if (value >= (POW10[size] as number)) {
    value /= 10;
    power++;
  }
  while (size > 1 && value % 10 === 0) {
    value /= 10;
    size--;
  }
  foundDigits = value;
  foundCount = size;
  foundExponent = power;
}

const EXACT_FLOAT = new Float64Array(1);
const EXACT_BITS = new BigUint64Array(EXACT_FLOAT.buffer);

/** magnitude as mantissa × 2^exponent, both exact. */
function exactParts(magnitude: number): { mantissa: bigint; exponent: number } {
  EXACT_FLOAT[0] = magnitude;
  const bits = EXACT_BITS[0] as bigint;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  return biased === 0
    ? { mantissa: fraction, exponent: -1074 }
    : { mantissa: fraction | 0x10000000000000n, exponent: biased - 1075 };
}

/** floor(magnitude × 10^scale) and how the rest compares with one half (-1 below, 0 equal, 1 above), exactly. */
function exactScaled(magnitude: number, scale: number): { below: bigint; rest: number } {
  const { mantissa, exponent } = exactParts(magnitude);
  let numerator = mantissa;
  let denominator = 1n;
  if (scale >= 0) numerator *= 10n ** BigInt(scale);
  else denominator *= 10n ** BigInt(-scale);
  if (exponent >= 0) numerator <<= BigInt(exponent);
  else denominator <<= BigInt(-exponent);
  const below = numerator / denominator;
  const twiceRest = (numerator - below * denominator) * 2n;
  return { below, rest: twiceRest < denominator ? -1 : twiceRest > denominator ? 1 : 0 };
}

/**
 * Whether magnitude × 10^scale is closer to `below` than to below + 1, exactly; a tie (a float32 whose exact
 * expansion has one digit more, a 5) goes to the even one.
 */
function exactlyCloserToBelow(magnitude: number, scale: number, below: number): boolean {
  const { rest } = exactScaled(magnitude, scale);
  return rest < 0 || (rest === 0 && below % 2 === 0);
}

/**
 * The exact path, for any positive finite double and any reading-back rule: for 1, 2, .. digits, the two
 * decimals next to the value (found with BigInt arithmetic), closer first, read back through Number as JSON.parse
 * would; the first that `convert`s to `target` is recorded. Slow (microseconds), so only for what
 * the fast search leaves: float32 subnormals, and any value it could not settle in 9 digits (none is known).
 */
function findShortestExact(magnitude: number, convert: (read: number) => number, target: number): void {
  let exponent = Math.floor(Math.log10(magnitude));
  const lead = exactScaled(magnitude, -exponent).below;
  if (lead < 1n) exponent--;
  else if (lead >= 10n) exponent++;
  for (let count = 1; ; count++) {
    const scale = count - 1 - exponent;
    const { below, rest } = exactScaled(magnitude, scale);
    const candidates =
      rest < 0 || (rest === 0 && below % 2n === 0n) ? [below, below + 1n] : [below + 1n, below];
    for (const candidate of candidates) {
      if (convert(Number(`${candidate}e${-scale}`)) === target) {
        settle(Number(candidate), count, exponent);
        return;
      }
    }
  }
}

/** Bytes kept per float16 magnitude: its longest text, `0.000061035`, has 11. */
const HALF_CACHE_STRIDE = 12;

interface HalfCache {
  readonly bytes: Uint8Array;
  /** Text length per magnitude; 0 until first written. */
  readonly lengths: Uint8Array;
}

let halfTexts: HalfCache | undefined;

/** The float16 texts, made on first use (400 kB) and filled per magnitude as values are met. */
function halfCache(): HalfCache {
  halfTexts ??= { bytes: new Uint8Array(0x8000 * HALF_CACHE_STRIDE), lengths: new Uint8Array(0x8000) };
  return halfTexts;
}

/** Writes the text of a non-negative finite half into the cache and returns its length. */
function fillHalf(cache: HalfCache, magnitude: number): number {
  const from = magnitude * HALF_CACHE_STRIDE;
  let size: number;
  if (magnitude === 0) {
    cache.bytes[from] = CHAR.zero;
    size = 1;
  } else {
    findShortestHalf(magnitude);
    size = writeDecimal(cache.bytes, from, foundDigits, foundCount, foundExponent) - from;
  }
  cache.lengths[magnitude] = size;
  return size;
}

/**
 * The shortest digits of a positive finite half (its bit pattern), recorded as findShortestExact records them.
 *
 * Exact with doubles alone: a half scaled by 10^s (s <= 12 for 1..5 digits) has at most 39 significant bits, and
 * for the halves of 10 and more (s >= -4) twice the half and an odd multiple of 10^-s are exact integers, so the
 * closer candidate is found by one exact subtraction. Each candidate is read back as JSON.parse would (one
 * correctly rounded division or multiplication) and compared with the midpoints to the neighbouring halves, which
 * doubles hold exactly (a double on a midpoint goes to the even half, as toFloat16Bits rounds). Fills the table
 * for every half in 20-30 ms (a first FP16 answer's delay), where findShortestExact's BigInt arithmetic took ~250 ms.
 */
function findShortestHalf(bits: number): void {
  const value = fromFloat16Bits(bits);
  // Halves of 0x7bff and below: the next one up is 2^16 for the largest, whose midpoint 65520 rounds to infinity.
  const above = bits === FLOAT16_LARGEST_BITS ? 2 ** 16 : fromFloat16Bits(bits + 1);
  const low = (value + fromFloat16Bits(bits - 1)) / 2;
  const high = (value + above) / 2;
  const even = (bits & 1) === 0;
  let exponent = Math.floor(Math.log10(value));
  if (value >= powerOfTen(exponent + 1)) exponent++;
  else if (value < powerOfTen(exponent)) exponent--;
  for (let count = 1; count <= MAX_EXACT_POWER; count++) {
    const scale = count - 1 - exponent;
    const power = POW10[Math.abs(scale)] as number;
    const below = Math.floor(scale >= 0 ? value * power : value / power);
    const belowRead = scale >= 0 ? below / power : below * power;
    const aboveRead = scale >= 0 ? (below + 1) / power : (below + 1) * power;
    const belowReads = belowRead > low || (belowRead === low && even);
    const aboveReads = aboveRead < high || (aboveRead === high && even);
    if (!belowReads && !aboveReads) continue;
    let digits = belowReads ? below : below + 1;
    if (belowReads && aboveReads) {
      // The sign of (value × 10^scale - below - 1/2), doubled to stay in integers.
      const offset = scale >= 0 ? value * power * 2 - (2 * below + 1) : value * 2 - (2 * below + 1) * power;
      if (offset > 0 || (offset === 0 && below % 2 === 1)) digits = below + 1;
    }
    settle(digits, count, exponent);
    return;
  }
  findShortestExact(value, toFloat16Bits, bits);
}

/** The largest finite half, 65504. */
const FLOAT16_LARGEST_BITS = 0x7bff;

/** 10^power as the nearest double, for |power| <= 22. */
function powerOfTen(power: number): number {
  return power >= 0 ? (POW10[power] as number) : 1 / (POW10[-power] as number);
}

function writeNull(buffer: Uint8Array, at: number): number {
  buffer[at] = NULL_BYTES[0];
  buffer[at + 1] = NULL_BYTES[1];
  buffer[at + 2] = NULL_BYTES[2];
  buffer[at + 3] = NULL_BYTES[3];
  return at + 4;
}

/**
 * Writes digits × 10^(exponent - count + 1) in JS Number-to-string notation at `at`; returns the end.
 * `digits` has exactly `count` digits (at most 9) and no trailing zero.
 */
function writeDecimal(
  buffer: Uint8Array,
  at: number,
  digits: number,
  count: number,
  exponent: number,
): number {
  // JS's n: the value is 0.digits × 10^n.
  const point = exponent + 1;
  let end = at;
  if (point <= 0 && point > -6) {
    buffer[end++] = CHAR.zero;
    buffer[end++] = CHAR.dot;
    for (let zero = point; zero < 0; zero++) buffer[end++] = CHAR.zero;
    writeDigits(buffer, end + count, digits, count);
    return end + count;
  }
  if (point > 0 && point <= 21) {
    if (point >= count) {
      writeDigits(buffer, end + count, digits, count);
      end += count;
      for (let zero = count; zero < point; zero++) buffer[end++] = CHAR.zero;
      return end;
    }
    const fractionCount = count - point;
    const unit = POW10[fractionCount] as number;
    const whole = Math.floor(digits / unit);
    writeDigits(buffer, end + point, whole, point);
    buffer[end + point] = CHAR.dot;
    writeDigits(buffer, end + count + 1, digits - whole * unit, fractionCount);
    return end + count + 1;
  }
  const unit = POW10[count - 1] as number;
  const first = Math.floor(digits / unit);
  buffer[end++] = CHAR.zero + first;
  if (count > 1) {
    buffer[end++] = CHAR.dot;
    writeDigits(buffer, end + count - 1, digits - first * unit, count - 1);
    end += count - 1;
  }
  buffer[end++] = CHAR.e;
  let power = exponent;
  if (power < 0) {
    buffer[end++] = CHAR.minus;
    power = -power;
  } else {
    buffer[end++] = CHAR.plus;
  }
  if (power >= 10) {
    buffer[end++] = DIGIT_PAIRS[power * 2] as number;
    buffer[end++] = DIGIT_PAIRS[power * 2 + 1] as number;
  } else {
    buffer[end++] = CHAR.zero + power;
  }
  return end;
}

/** Writes the last `count` digits of a non-negative int below 2^31, zero-padded, ending just before `end`. */
function writeDigits(buffer: Uint8Array, end: number, digits: number, count: number): void {
  // As an int32, the divisions by 100 compile to a multiplication (as doubles they took ~25% of the writing).
  let rest = digits | 0;
  let at = end;
  let left = count;
  while (left >= 2) {
    const quotient = (rest / 100) | 0;
    const pair = (rest - quotient * 100) * 2;
    buffer[at - 1] = DIGIT_PAIRS[pair + 1] as number;
    buffer[at - 2] = DIGIT_PAIRS[pair] as number;
    rest = quotient;
    at -= 2;
    left -= 2;
  }
  if (left === 1) buffer[at - 1] = CHAR.zero + rest;
}
