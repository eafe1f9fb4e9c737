// Stand-in for @aws-sdk/credential-provider-node in function bundles (see lib/cdk/private/environment-credentials.ts): the
// clients' default credentials are the execution role's keys, which Lambda puts in the environment.
const { fromEnv } = require('@aws-sdk/credential-provider-env');

exports.defaultProvider = (init) => fromEnv(init);
