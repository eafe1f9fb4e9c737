import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LAMBDA_MB_PER_VCPU,
  lambdaSessionOptions,
  lambdaThreads,
} from '../../lib/serving/session-options.js';

describe('lambdaThreads: as many intra-op threads as the memory pays vCPUs for', () => {
  it('runs one thread below 1,769 MB although Lambda shows two CPUs', () => {
    assert.equal(lambdaThreads(128, 2), 1);
    assert.equal(lambdaThreads(1024, 2), 1);
    assert.equal(lambdaThreads(LAMBDA_MB_PER_VCPU, 2), 1);
  });

  it('grows with memory, never above the CPUs the sandbox shows', () => {
    assert.equal(lambdaThreads(3538, 3), 2);
    assert.equal(lambdaThreads(7076, 4), 4);
    assert.equal(lambdaThreads(10_240, 6), 6);
    assert.equal(lambdaThreads(10_240, 4), 4);
  });

  it('uses every CPU off Lambda, and always at least one', () => {
    assert.equal(lambdaThreads(undefined, 8), 8);
    assert.equal(lambdaThreads(Number.NaN, 0), 1);
  });

  it('puts the threads into the session options with one inter-op thread', () => {
    const options = lambdaSessionOptions(3);
    assert.equal(options.intraOpNumThreads, 3);
    assert.equal(options.interOpNumThreads, 1);
  });
});
