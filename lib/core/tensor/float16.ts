/**
 * IEEE 754 half precision (binary16) conversions.
 *
 * sluice hands onnxruntime `float16` tensors as a Uint16Array of bit patterns (the serving layer hides Node 24's
 * Float16Array from onnxruntime, see lib/serving/onnx-runtime.ts), so FP16 values cross the JSON and binary
 * boundaries through these two functions, on every Node version.
 */

/** Largest finite half-precision value; FP16 inputs beyond it are refused rather than sent as infinity. */
export const FLOAT16_MAX = 65504;

/** The bit pattern written for NaN: the canonical quiet NaN. */
const FLOAT16_NAN_BITS = 0x7e00;

/** The bit pattern of +Infinity; the sign bit makes it -Infinity. */
const FLOAT16_INFINITY_BITS = 0x7c00;

/** Magnitudes from here up round to infinity: the midpoint between FLOAT16_MAX and 2^16. */
const FLOAT16_OVERFLOW_THRESHOLD = 65520;

/** Smallest positive normal half (2^-14); below it values are subnormal multiples of 2^-24. */
const FLOAT16_MIN_NORMAL = 2 ** -14;

/** Scales a subnormal magnitude to a count of the smallest subnormal step, 2^-24. */
const FLOAT16_SUBNORMAL_SCALE = 2 ** 24;

/** 2^(exponent - 25) for each biased exponent 0..31: the weight of one significand unit. */
const UNIT_BY_EXPONENT: readonly number[] = Array.from({ length: 32 }, (_, exponent) => 2 ** (exponent - 25));

/**
 * Converts a number to the bit pattern of the nearest half-precision value (round to nearest, ties to even).
 *
 * Rounds straight from the 64-bit value, so there is no double rounding through float32.
 * Magnitudes of 65520 and more become ±Infinity and NaN becomes a quiet NaN: callers that must refuse
 * values outside the finite range check `Math.abs(value) <= FLOAT16_MAX` first.
 *
 * @example
 * toFloat16Bits(1); // 0x3c00
 */
export function toFloat16Bits(value: number): number {
  if (Number.isNaN(value)) return FLOAT16_NAN_BITS;
  const sign = value < 0 || (value === 0 && 1 / value < 0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= FLOAT16_OVERFLOW_THRESHOLD) return sign | FLOAT16_INFINITY_BITS;
  // A subnormal that rounds up to 1024 units is exactly the smallest normal, whose bits are 0x0400.
  if (magnitude < FLOAT16_MIN_NORMAL) return sign | roundHalfToEven(magnitude * FLOAT16_SUBNORMAL_SCALE);
  let exponent = Math.floor(Math.log2(magnitude));
  // Math.log2 may land one off next to a power of two; powers of two in this range are exact.
  if (2 ** exponent > magnitude) exponent--;
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  // Scaling by a power of two is exact, so the only rounding is the one below.
  const significand = roundHalfToEven(magnitude * 2 ** (10 - exponent));
  // A significand rounded up to 2048 carries into the exponent field, which is the correct encoding.
  return sign | (((exponent + 15) << 10) + significand - 1024);
}

/**
 * Converts a half-precision bit pattern to the number it denotes (exactly: every half is a double).
 *
 * @example
 * fromFloat16Bits(0x3c00); // 1
 */
export function fromFloat16Bits(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * (UNIT_BY_EXPONENT[1] as number);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + fraction) * (UNIT_BY_EXPONENT[exponent] as number);
}

/** Rounds a non-negative number to the nearest integer, ties to even. */
function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
