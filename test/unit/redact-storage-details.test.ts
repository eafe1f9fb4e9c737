import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelUnavailableError } from '../../lib/core/errors/model-errors.js';
import { httpErrorOf } from '../../lib/serving/http-errors.js';

describe('HTTP errors: a 503 body names no storage location', () => {
  it('replaces s3:// URLs, ARNs and AWS host names, and keeps the message itself for the log', () => {
    const message =
      'model "iris" version 3 cannot be loaded: s3://prod-models-123/models/iris/3/manifest.json is not JSON; ' +
      'User: arn:aws:sts::123456789012:assumed-role/fn-role/fn is not authorized to perform: s3:GetObject on resource: ' +
      '"arn:aws:s3:::prod-models-123/models/iris/3/model.onnx"; getaddrinfo ENOTFOUND prod-models-123.s3.eu-west-1.amazonaws.com';
    const error = new ModelUnavailableError(message);
    const reply = httpErrorOf(error);
    assert.equal(reply.status, 503);
    const body = reply.body.error;
    assert.equal(
      body,
      'model "iris" version 3 cannot be loaded: the stored manifest.json is not JSON; ' +
        'User: a resource of the model store is not authorized to perform: s3:GetObject on resource: ' +
        '"a resource of the model store"; getaddrinfo ENOTFOUND the model store',
    );
    assert.doesNotMatch(body, /prod-models-123|123456789012/);
    assert.equal(error.message, message, 'the error itself (what the log writes) keeps the whole message');
  });
});
