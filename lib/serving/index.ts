export { createPredictHandler, type PredictHandler } from './create-predict-handler.js';
export { createS3Client } from './create-s3-client.js';
