import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Tensor } from 'onnxruntime-node';
import {
  DEFAULT_OBJECT_URL_SECONDS,
  newObjectReference,
  ObjectOutputParameter,
  objectKey,
  requestObjectPrefix,
  SLUICE_OBJECT_PARAMETER,
  type UploadsRequest,
  UploadsRequestSchema,
  type UploadsResponse,
  type UploadTicket,
} from '../core/contract/tensor-objects.js';
import { describeIssues } from '../core/errors/describe-issues.js';
import { InvalidRequestError, ObjectReferenceError } from '../core/errors/request-errors.js';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import { binaryTensorSize, encodeBinaryTensor } from '../core/tensor/binary-tensor.js';
import { parseJson } from '../core/tensor/parse-json.js';
import { checkReferencedValues, objectTensorSize, tensorBytes } from '../core/tensor/referenced-tensor.js';
import type { TensorData } from '../core/tensor/TensorData.js';
import { ObjectChangedError, type RequestObjectStore } from '../storage/RequestObjectStore.js';
import {
  encodeInferResponse,
  type ResponseHead,
  type ResponseOutput,
  type ResponseRemedy,
  ResponseTooLargeError,
} from './infer-response.js';
import { quoteList } from './private/request-feeds.js';
import { storeFailure } from './private/store-failure.js';

/** Bytes of randomness in an object's id (128 bits: a reference cannot be guessed). */
const OBJECT_ID_BYTES = 16;

/** How an output travels with respect to objects: always (`true`), never (`false`), or only if it must (`'auto'`). */
export type ObjectOutputMode = boolean | 'auto';

/** What {@link ObjectTransfers.readInputs} read: the keys to delete once the answer is given. */
export interface ReadInputs {
  readonly keys: readonly string[];
}

/** Options of {@link ObjectTransfers}. */
export interface ObjectTransfersProps {
  /** Where request objects live (the registry bucket's `requests/` prefix). */
  readonly store: RequestObjectStore;
  /** Lifetime of every presigned URL handed out, in seconds. @default DEFAULT_OBJECT_URL_SECONDS */
  readonly urlSeconds?: number;
  /** 16 random bytes as 32 lowercase hex digits, for new object ids. @default node:crypto randomBytes */
  readonly randomHex?: () => string;
}

/**
 * Tensors sent by reference, on the serving side: upload tickets (a presigned PUT per input, checked against the
 * model's signature), inputs read from their objects into the tensors decoding made for them (one parallel ranged
 * GET each, straight into the tensor's buffer, size checked first), their deletion after a successful answer, and
 * outputs written to objects and answered with a presigned GET. Key layout and wire names: tensor-objects.ts.
 *
 * @example
 * const transfers = new ObjectTransfers({ store: new S3RequestObjects({ client, bucket }) });
 * const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }] });
 * const response = await transfers.tickets(manifest, body);
 */
export class ObjectTransfers {
  readonly #store: RequestObjectStore;
  readonly #urlSeconds: number;
  readonly #randomHex: () => string;

  constructor(props: ObjectTransfersProps) {
    this.#store = props.store;
    this.#urlSeconds = props.urlSeconds ?? DEFAULT_OBJECT_URL_SECONDS;
    this.#randomHex = props.randomHex ?? (() => randomBytes(OBJECT_ID_BYTES).toString('hex'));
  }

  /**
   * The answer of `POST /v2/models/{m}/uploads`: one presigned PUT per input named in `text` (a JSON body of
   * {@link UploadsRequestSchema}), each checked against `manifest` (name, datatype, shape) and signed for exactly
   * the bytes that input's tensor has. Nothing is written: an object exists only once the client has uploaded it.
   */
  async tickets(manifest: ModelManifest, text: string): Promise<UploadsResponse> {
    const parsed = UploadsRequestSchema.safeParse(parseJson(text));
    if (!parsed.success)
      throw new InvalidRequestError(`invalid uploads request: ${describeIssues(parsed.error)}`);
    const wanted = checkUploads(manifest, parsed.data);
    const uploads = await Promise.all(
      wanted.map(async ({ name, byteSize }): Promise<UploadTicket> => {
        const id = this.#randomHex();
        const reference = newObjectReference(manifest.name, id);
        const signed = await this.#reach(
          this.#store.presignUpload(`${requestObjectPrefix(manifest.name)}${id}`, byteSize, this.#urlSeconds),
        );
        return {
          name,
          object: reference,
          url: signed.url,
          method: 'PUT',
          headers: signed.headers,
          byte_size: byteSize,
          expires_at: signed.expiresAt.toISOString(),
        };
      }),
    );
    return { model_name: manifest.name, model_version: String(manifest.version), uploads };
  }

  /**
   * Fills the tensors of the inputs sent by reference (`parameters.sluice_object`) from their objects, all at once.
   * A reference that is malformed or another model's, an object that is missing (never uploaded, used already,
   * expired) or of another size than the tensor's, or BOOL bytes other than 0 and 1, is an
   * {@link ObjectReferenceError} (400) and changes nothing: every object stays until used or expired.
   */
  async readInputs(
    model: string,
    inputs: readonly { readonly name: string; readonly parameters?: Record<string, unknown> | undefined }[],
    feeds: Record<string, TensorData>,
  ): Promise<ReadInputs> {
    const referenced = inputs.flatMap((input) => {
      const reference = input.parameters?.[SLUICE_OBJECT_PARAMETER];
      return typeof reference === 'string'
        ? [{ name: input.name, key: objectKey(model, reference, `input "${input.name}": the object`) }]
        : [];
    });
    await Promise.all(
      referenced.map(async ({ name, key }) => {
        const tensor = feeds[name] as TensorData;
        const into = tensorBytes(tensor);
        const size = await this.#reach(
          this.#store.readInto(key, into).catch((error: unknown) => {
            if (!(error instanceof ObjectChangedError)) throw error;
            throw new ObjectReferenceError(
              `input "${name}": its object changed while it was read (another request using the same reference deletes it once answered); upload the tensor again`,
              { cause: error },
            );
          }),
        );
        if (size === undefined) {
          throw new ObjectReferenceError(
            `input "${name}": no object for this reference: never uploaded, already used (an object is deleted once an answer used it) or expired; upload the tensor again through POST /v2/models/${model}/uploads`,
          );
        }
        if (size !== into.byteLength) {
          throw new ObjectReferenceError(
            `input "${name}": its object has ${size} bytes, but ${tensor.type} of shape [${tensor.dims.join(',')}] takes ${into.byteLength}`,
          );
        }
        checkReferencedValues(name, tensor);
      }),
    );
    return { keys: referenced.map(({ key }) => key) };
  }

  /**
   * Deletes the objects a successful answer used, so that a reference is refused until uploaded to again (a
   * presigned URL can be used any number of times until it expires). Throws the store's error; the
   * caller logs it and answers anyway: the lifecycle rule on `requests/` removes what was not deleted.
   */
  async deleteInputs(read: ReadInputs): Promise<void> {
    await Promise.all(read.keys.map((key) => this.#store.delete(key)));
  }

  /**
   * Writes an output to a new object of `model`'s prefix (the binary tensor extension's bytes: raw little-endian,
   * row-major; BYTES length-prefixed) and returns the output parameters that answer it: the reference, a presigned
   * GET, when it stops working, and the object's size.
   */
  async writeOutput(model: string, tensor: Tensor): Promise<Readonly<Record<string, string | number>>> {
    const id = this.#randomHex();
    const key = `${requestObjectPrefix(model)}${id}`;
    const bytes = encodeBinaryTensor(tensor);
    await this.#reach(this.#store.write(key, bytes));
    const signed = await this.#reach(this.#store.presignDownload(key, this.#urlSeconds));
    return {
      [SLUICE_OBJECT_PARAMETER]: newObjectReference(model, id),
      [ObjectOutputParameter.URL]: signed.url,
      [ObjectOutputParameter.EXPIRES_AT]: signed.expiresAt.toISOString(),
      [ObjectOutputParameter.BYTE_SIZE]: bytes.byteLength,
    };
  }

  /**
   * Writes a V2 answer with `encodeInferResponse`, after writing to objects the outputs whose mode is `true`, then,
   * while the answer is still too large for a response, the largest of those whose mode is `'auto'`, one at a time.
   * Without an `'auto'` output left, a response that is too large is refused as `encodeInferResponse` refuses it.
   */
  async respond(
    head: ResponseHead,
    outputs: readonly (ResponseOutput & { readonly mode: ObjectOutputMode })[],
    remedy: ResponseRemedy,
  ): Promise<APIGatewayProxyResult> {
    const references = new Map<string, Readonly<Record<string, string | number>>>();
    await Promise.all(
      outputs
        .filter(({ mode }) => mode === true)
        .map(async ({ name, tensor }) =>
          references.set(name, await this.writeOutput(head.modelName, tensor)),
        ),
    );
    const automatic = outputs
      .filter(({ mode }) => mode === 'auto')
      .sort((a, b) => binaryTensorSize(b.tensor) - binaryTensorSize(a.tensor));
    for (;;) {
      try {
        return encodeInferResponse(
          head,
          outputs.map(({ mode: _mode, ...output }) => {
            const reference = references.get(output.name);
            return reference ? { ...output, reference } : output;
          }),
          remedy,
        );
      } catch (error) {
        const next = automatic.shift();
        if (!(error instanceof ResponseTooLargeError) || next === undefined) throw error;
        references.set(next.name, await this.writeOutput(head.modelName, next.tensor));
      }
    }
  }

  /** Awaits the store; its own failure (unreachable, throttled, denied) is a 503, as for the model store. */
  #reach<T>(operation: Promise<T>): Promise<T> {
    return storeFailure(operation, (reason) => `the request objects cannot be reached: ${reason}`);
  }
}

/** The inputs of an uploads request, each checked against the model and sized; refuses unknown and repeated names. */
function checkUploads(
  manifest: ModelManifest,
  request: UploadsRequest,
): { readonly name: string; readonly byteSize: number }[] {
  const seen = new Set<string>();
  return request.inputs.map((input) => {
    if (seen.has(input.name)) throw new InvalidRequestError(`input "${input.name}" is named more than once`);
    seen.add(input.name);
    const spec = manifest.inputs.find((candidate) => candidate.name === input.name);
    if (!spec) {
      throw new InvalidRequestError(
        `unknown input "${input.name}"; model "${manifest.name}" takes ${quoteList(manifest.inputs.map((known) => known.name))}`,
      );
    }
    return { name: input.name, byteSize: objectTensorSize(input, spec).byteSize };
  });
}
