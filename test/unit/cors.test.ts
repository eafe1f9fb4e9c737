import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorsSettingsSchema, corsHeaders, preflightHeaders } from '../../lib/core/contract/cors.js';

const listed = CorsSettingsSchema.parse({
  allowOrigins: ['https://app.example.com', 'http://localhost:5173'],
});
const any = CorsSettingsSchema.parse({ allowOrigins: ['*'], maxAgeSeconds: 30 });

describe("CORS headers: one rule for the local stack and a REST door's functions", () => {
  it('names a listed origin back, with Vary: Origin and the headers a page may read', () => {
    const headers = corsHeaders(listed, 'http://localhost:5173');
    assert.equal(headers['access-control-allow-origin'], 'http://localhost:5173');
    assert.equal(headers.vary, 'Origin');
    assert.equal(
      headers['access-control-expose-headers'],
      'x-sluice-model-version, x-sluice-model, x-request-id, inference-header-content-length',
    );
  });

  it('names no origin for an unlisted one or none, and still varies on Origin so no cache mixes them', () => {
    assert.deepEqual(corsHeaders(listed, 'https://evil.example'), { vary: 'Origin' });
    assert.deepEqual(corsHeaders(listed, undefined), { vary: 'Origin' });
    assert.equal(preflightHeaders(listed, 'https://evil.example'), undefined);
  });

  it('"*" allows every origin, with nothing to vary on', () => {
    assert.equal(corsHeaders(any, 'https://whoever.example')['access-control-allow-origin'], '*');
    assert.equal(corsHeaders(any, 'https://whoever.example').vary, undefined);
    assert.equal(preflightHeaders(any, 'https://whoever.example')?.['access-control-max-age'], '30');
  });

  it("a preflight allows the contract's methods and headers, kept for the default 600 s", () => {
    const headers = preflightHeaders(listed, 'https://app.example.com');
    assert.equal(headers?.['access-control-allow-methods'], 'GET, POST');
    assert.match(
      headers?.['access-control-allow-headers'] ?? '',
      /^content-type, inference-header-content-length, authorization/,
    );
    assert.equal(headers?.['access-control-max-age'], '600');
  });
});
