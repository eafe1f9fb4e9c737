/** Response headers sluice sets on every model response. */
export const ResponseHeader = {
  /** The model version that served (or refused) the request. */
  MODEL_VERSION: 'x-sluice-model-version',
  /** The model name. */
  MODEL: 'x-sluice-model',
  /** The request id, also found in the logs. */
  REQUEST_ID: 'x-request-id',
} as const;

/** One of the response header names sluice sets. */
export type ResponseHeader = (typeof ResponseHeader)[keyof typeof ResponseHeader];
