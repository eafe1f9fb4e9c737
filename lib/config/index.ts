export {
  CACHE_SHARE_OF_MEMORY,
  ConfigError,
  FALLBACK_CACHE_BYTES,
  type FunctionConfig,
  readFunctionConfig,
} from './function-config.js';
