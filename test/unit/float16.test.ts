import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLOAT16_MAX, fromFloat16Bits, toFloat16Bits } from '../../lib/core/tensor/float16.js';

describe('float16: every half-precision bit pattern round-trips exactly', () => {
  it('maps each of the 65536 patterns (NaNs excepted) to a number and back to the same bits', () => {
    for (let bits = 0; bits <= 0xffff; bits++) {
      const value = fromFloat16Bits(bits);
      if (Number.isNaN(value)) {
        assert.equal(
          (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0,
          true,
          `0x${bits.toString(16)} is not a NaN`,
        );
        continue;
      }
      assert.equal(toFloat16Bits(value), bits, `0x${bits.toString(16)} -> ${value}`);
    }
  });

  it('decodes the landmarks of the format', () => {
    assert.equal(fromFloat16Bits(0x3c00), 1);
    assert.equal(fromFloat16Bits(0xc000), -2);
    assert.equal(fromFloat16Bits(0x7bff), FLOAT16_MAX);
    assert.equal(fromFloat16Bits(0x0400), 2 ** -14);
    assert.equal(fromFloat16Bits(0x0001), 2 ** -24);
    assert.equal(fromFloat16Bits(0x03ff), 1023 * 2 ** -24);
    assert.equal(fromFloat16Bits(0x7c00), Number.POSITIVE_INFINITY);
    assert.equal(fromFloat16Bits(0xfc00), Number.NEGATIVE_INFINITY);
    assert.ok(Object.is(fromFloat16Bits(0x8000), -0));
    assert.ok(Number.isNaN(fromFloat16Bits(0x7e00)));
  });
});

describe('float16: numbers round to the nearest half, ties to even', () => {
  it('rounds a tie between 1 and the next half down to the even significand', () => {
    assert.equal(toFloat16Bits(1 + 2 ** -11), 0x3c00);
    assert.equal(toFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
  });

  it('rounds straight from the double, not through float32 (no double rounding)', () => {
    // Via float32 this would first become the exact tie 1 + 2^-11 and then round down to 1.
    assert.equal(toFloat16Bits(1 + 2 ** -11 + 2 ** -40), 0x3c01);
  });

  it('rounds subnormals in steps of 2^-24, ties to even', () => {
    assert.equal(toFloat16Bits(2 ** -25), 0x0000);
    assert.equal(toFloat16Bits(3 * 2 ** -25), 0x0002);
    assert.equal(toFloat16Bits(2 ** -25 + 2 ** -40), 0x0001);
    assert.equal(toFloat16Bits(1e-10), 0x0000);
    assert.equal(toFloat16Bits(-1e-10), 0x8000);
  });

  it('carries a subnormal that rounds up into the smallest normal', () => {
    assert.equal(toFloat16Bits(2 ** -14 - 2 ** -26), 0x0400);
  });

  it('keeps the sign of zero', () => {
    assert.equal(toFloat16Bits(0), 0x0000);
    assert.equal(toFloat16Bits(-0), 0x8000);
  });

  it('rounds values just above the largest half down to it and overflows from 65520 to infinity', () => {
    assert.equal(toFloat16Bits(65519.99), 0x7bff);
    assert.equal(toFloat16Bits(65520), 0x7c00);
    assert.equal(toFloat16Bits(-1e9), 0xfc00);
    assert.equal(toFloat16Bits(Number.POSITIVE_INFINITY), 0x7c00);
  });

  it('writes NaN as the canonical quiet NaN', () => {
    assert.equal(toFloat16Bits(Number.NaN), 0x7e00);
  });

  it('picks a half no other half is closer to, for random doubles', () => {
    for (let trial = 0; trial < 20000; trial++) {
      const value = (Math.random() - 0.5) * 2 ** (Math.random() * 40 - 26);
      const bits = toFloat16Bits(value);
      const nearest = fromFloat16Bits(bits);
      // No other half may lie strictly closer to the value.
      for (const neighbour of [bits - 1, bits + 1]) {
        if ((neighbour & 0x7fff) > 0x7bff || neighbour < 0 || (neighbour & 0x8000) !== (bits & 0x8000))
          continue;
        assert.ok(
          Math.abs(fromFloat16Bits(neighbour) - value) >= Math.abs(nearest - value),
          `${value}: 0x${neighbour.toString(16)} is closer than 0x${bits.toString(16)}`,
        );
      }
    }
  });
});
