export {
  httpAnswerOf,
  type Invocation,
  type LambdaGoldenSendProps,
  lambdaGoldenSend,
} from './lambda-golden-send.js';
export {
  buildProxyEvent,
  type CheckRequest,
  GOLDEN_CHECK_STAGE,
  GOLDEN_CHECK_USER_AGENT,
  inferPath,
  readyPath,
} from './proxy-event.js';
