import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileErrors, validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as z from 'zod';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { bodyOf, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { identityModel, twoInputModel } from '../fixtures/models.js';

/** The parts of a document these tests read. */
const DocumentSchema = z.object({
  openapi: z.string(),
  servers: z.array(z.object({ url: z.string() })).optional(),
  paths: z.record(z.string(), z.record(z.string(), z.looseObject({}))),
  components: z.object({ schemas: z.record(z.string(), z.unknown()) }),
});
type Document = z.infer<typeof DocumentSchema>;

const OperationSchema = z.looseObject({
  parameters: z.array(z.looseObject({ name: z.string(), schema: z.looseObject({}) })).optional(),
  requestBody: z
    .object({
      content: z.object({ 'application/json': z.object({ schema: z.unknown(), example: z.unknown() }) }),
    })
    .optional(),
  responses: z.record(
    z.string(),
    z.looseObject({
      content: z.object({ 'application/json': z.object({ schema: z.unknown() }) }).optional(),
    }),
  ),
});

/** JSON Schema checks of a document's bodies, its components resolvable by `$ref`. */
function schemaChecker(document: Document): (schema: unknown, value: unknown) => string | undefined {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'doc', components: document.components });
  return (schema, value) => {
    const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'));
    const check = ajv.compile(rebased);
    return check(value) ? undefined : ajv.errorsText(check.errors);
  };
}

describe('OpenAPI: the document of the HTTP contract, from the schemas that validate requests', () => {
  let test: TestStack;
  before(async () => {
    test = await startTestStack();
    await publishVersion(test.stack.registry, { name: 'pair', model: twoInputModel() });
    await publishVersion(test.stack.registry, { name: 'counts', model: identityModel('INT64', [-1, 2]) });
  });
  after(() => test.stop());

  it('GET /openapi.json is a valid OpenAPI 3.1 document naming every model with its real inputs', async () => {
    const reply = await test.request('GET', '/openapi.json');
    assert.equal(reply.status, 200);
    const document = bodyOf(reply, DocumentSchema);
    const result = await validate(JSON.parse(reply.text));
    assert.ok(result.valid, result.valid ? '' : compileErrors(result));
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(document.servers, [{ url: '/' }]);
    for (const model of ['iris', 'pair', 'counts']) {
      assert.ok(document.paths[`/v2/models/${model}/infer`], `${model} infer`);
      assert.ok(document.paths[`/models/${model}/predict`], `${model} predict`);
    }
    const pair = OperationSchema.parse(document.paths['/v2/models/pair/infer']?.post);
    const text = JSON.stringify(pair.requestBody);
    assert.match(text, /"const":"a"/);
    assert.match(text, /"const":"b"/);
    assert.match(text, /"const":"FP32"/);
  });

  it('every example body fits its schema and gets the 200 answer the document describes; a body the schema refuses gets a 400', async () => {
    const document = bodyOf(await test.request('GET', '/openapi.json'), DocumentSchema);
    const check = schemaChecker(document);
    let sent = 0;
    for (const [path, methods] of Object.entries(document.paths)) {
      const post = methods.post ? OperationSchema.parse(methods.post) : undefined;
      const body = post?.requestBody?.content['application/json'];
      if (!post || !body) continue;
      assert.equal(check(body.schema, body.example), undefined, `${path}: example fits`);
      const version = post.parameters?.find((parameter) => parameter.name === 'version');
      const concrete = path.replace('{version}', String((version?.schema.enum as string[] | undefined)?.[0]));
      const reply = await test.request('POST', concrete, body.example as object);
      assert.equal(reply.status, 200, `${concrete}: ${reply.text}`);
      const answer = post.responses['200']?.content?.['application/json']?.schema;
      assert.equal(check(answer, JSON.parse(reply.text)), undefined, `${concrete}: answer fits`);
      sent++;
    }
    assert.equal(sent, 9, 'three models, three inference routes each');
    const infer = OperationSchema.parse(document.paths['/v2/models/pair/infer']?.post);
    const schema = infer.requestBody?.content['application/json'].schema;
    const wrongName = { inputs: [{ name: 'c', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
    assert.notEqual(check(schema, wrongName), undefined, 'the narrowed schema refuses an unknown input');
    assert.equal((await test.request('POST', '/v2/models/pair/infer', wrongName)).status, 400);
  });

  it('GET /v2/models/{m}/openapi.json describes that model alone, its versions listed; an unknown model is a 404', async () => {
    await publishVersion(test.stack.registry, { name: 'pair', model: twoInputModel() });
    const document = bodyOf(await test.request('GET', '/v2/models/pair/openapi.json'), DocumentSchema);
    const modelPaths = Object.keys(document.paths).filter((path) => path.includes('/models/'));
    assert.ok(modelPaths.length > 0);
    assert.ok(
      modelPaths.every((path) => path.includes('/models/pair')),
      modelPaths.join(', '),
    );
    const versioned = OperationSchema.parse(document.paths['/v2/models/pair/versions/{version}/infer']?.post);
    assert.deepEqual(versioned.parameters?.[0]?.schema.enum, ['1', '2']);
    const missing = await test.request('GET', '/v2/models/nope/openapi.json');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /unknown model/);
  });
});
