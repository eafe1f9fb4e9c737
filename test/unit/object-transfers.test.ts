import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { MAX_RESPONSE_BYTES } from '../../lib/core/contract/limits.js';
import { ModelUnavailableError } from '../../lib/core/errors/model-errors.js';
import { ObjectReferenceError } from '../../lib/core/errors/request-errors.js';
import { tensorOf } from '../../lib/core/tensor/TensorData.js';
import type { TensorSpec } from '../../lib/core/tensor/TensorSpec.js';
import { ResponseRemedy, ResponseTooLargeError } from '../../lib/serving/infer-response.js';
import { ObjectTransfers } from '../../lib/serving/ObjectTransfers.js';
import { decodeProvidedInput } from '../../lib/serving/private/request-feeds.js';
import {
  ObjectChangedError,
  type PresignedRequest,
  type RequestObjectStore,
} from '../../lib/storage/RequestObjectStore.js';

const ID = '0123456789abcdef0123456789abcdef';

/** The port in memory: what was written, and a read that can be made to fail the way a store fails. */
class MemoryObjects implements RequestObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  failRead: Error | undefined;

  async presignUpload(key: string, byteSize: number, seconds: number): Promise<PresignedRequest> {
    return this.#signed(key, 'PUT', seconds, { 'content-length': String(byteSize) });
  }
  async presignDownload(key: string, seconds: number): Promise<PresignedRequest> {
    return this.#signed(key, 'GET', seconds, {});
  }
  async readInto(key: string, into: Uint8Array): Promise<number | undefined> {
    if (this.failRead) throw this.failRead;
    const bytes = this.objects.get(key);
    if (bytes?.byteLength === into.byteLength) into.set(bytes);
    return bytes?.byteLength;
  }
  async write(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, bytes.slice());
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  #signed(key: string, method: 'PUT' | 'GET', seconds: number, headers: Record<string, string>) {
    return { url: `memory://${key}`, method, headers, expiresAt: new Date(seconds * 1000) };
  }
}

function transfersOn(store: MemoryObjects): ObjectTransfers {
  let next = 0;
  return new ObjectTransfers({ store, randomHex: () => (next++).toString(16).padStart(32, '0') });
}

const input = [{ name: 'x', parameters: { sluice_object: `m/${ID}` } }];
const feedsOf = () => ({ x: tensorOf('float32', new Float32Array(2), [2]) });

describe('ObjectTransfers.readInputs: what a failed read of an input object answers', () => {
  it('fills the tensor from its object and names the key to delete', async () => {
    const store = new MemoryObjects();
    store.objects.set(`requests/m/${ID}`, new Uint8Array(Float32Array.of(1.5, -2).buffer));
    const feeds = feedsOf();
    const read = await transfersOn(store).readInputs('m', input, feeds);
    assert.deepEqual([...feeds.x.data], [1.5, -2]);
    assert.deepEqual(read.keys, [`requests/m/${ID}`]);
  });

  it('an object deleted while it was read (another request used it) is a 400, not a 503', async () => {
    const store = new MemoryObjects();
    store.failRead = new ObjectChangedError('missing (the object was deleted while it was read)');
    await assert.rejects(transfersOn(store).readInputs('m', input, feedsOf()), ObjectReferenceError);
  });

  it('a store that cannot be reached is a 503', async () => {
    const store = new MemoryObjects();
    store.failRead = new Error('connect ECONNREFUSED 127.0.0.1:4569');
    await assert.rejects(
      transfersOn(store).readInputs('m', input, feedsOf()),
      (error) =>
        error instanceof ModelUnavailableError &&
        /cannot be reached: connect ECONNREFUSED/.test(error.message),
    );
  });
});

describe('ObjectTransfers.respond: outputs by reference, forced or "auto"', () => {
  const head = { modelName: 'm', modelVersion: 1, id: undefined };
  // JSON takes at least two characters per element: half a response limit of elements each is too much for two.
  const half = Math.ceil(MAX_RESPONSE_BYTES / 4) + 1;
  const big = (name: string, elements: number) => ({
    name,
    tensor: new ort.Tensor('float32', new Float32Array(elements), [elements]),
    binary: false,
  });

  it('"auto" moves the largest outputs to objects, one at a time, until the answer fits', async () => {
    const store = new MemoryObjects();
    const answer = await transfersOn(store).respond(
      head,
      [
        { ...big('a', half), mode: 'auto' },
        { ...big('b', half + 10), mode: 'auto' },
        { ...big('c', 3), mode: 'auto' },
      ],
      ResponseRemedy.V2,
    );
    const outputs = JSON.parse(answer.body).outputs as {
      name: string;
      data?: number[];
      parameters?: object;
    }[];
    assert.deepEqual(
      outputs.map((output) => [output.name, output.data === undefined ? 'object' : 'data']),
      [
        ['a', 'data'],
        ['b', 'object'],
        ['c', 'data'],
      ],
    );
    assert.deepEqual(
      [...store.objects.values()].map((bytes) => bytes.byteLength),
      [(half + 10) * 4],
    );
  });

  it('true writes every such output; false and nothing left to move keeps the refusal of an answer too large', async () => {
    const store = new MemoryObjects();
    const forced = await transfersOn(store).respond(
      head,
      [{ ...big('a', 3), mode: true }],
      ResponseRemedy.V2,
    );
    assert.match(
      forced.body,
      /"sluice_object":"m\/0{32}","sluice_object_url":"memory:\/\/requests\/m\/0{32}"/,
    );
    await assert.rejects(
      transfersOn(store).respond(head, [{ ...big('a', half * 2), mode: false }], ResponseRemedy.V2),
      ResponseTooLargeError,
    );
  });
});

describe('decodeProvidedInput: a reference is checked before a buffer is made for it', () => {
  const spec: TensorSpec = { name: 'x', datatype: 'FP32', shape: [-1, 4] };
  const model = { name: 'isnet', inputs: [spec] };
  // 4M rows of 4 FP32: a 64 MiB buffer, were it made before the reference is looked at.
  const big = (reference: string) => ({
    tensor: {
      name: 'x',
      datatype: 'FP32',
      shape: [4 * 1024 * 1024, 4],
      parameters: { sluice_object: reference },
    },
    bytes: undefined,
  });

  it("refuses a malformed reference, or another model's, as an ObjectReferenceError, before allocating", () => {
    assert.throws(() => decodeProvidedInput(big('../etc/passwd'), spec, model), ObjectReferenceError);
    assert.throws(
      () => decodeProvidedInput(big(`other/${'0'.repeat(32)}`), spec, model),
      (error: unknown) =>
        error instanceof ObjectReferenceError && /uploaded for model "other"/.test(error.message),
    );
  });

  it('makes the tensor of a well-formed reference of this model, zeroed, to be filled from its object', () => {
    const tensor = decodeProvidedInput(
      {
        tensor: {
          name: 'x',
          datatype: 'FP32',
          shape: [2, 4],
          parameters: { sluice_object: `isnet/${'a'.repeat(32)}` },
        },
        bytes: undefined,
      },
      spec,
      model,
    );
    assert.deepEqual(tensor.dims, [2, 4]);
    assert.equal((tensor.data as Float32Array).length, 8);
  });
});
