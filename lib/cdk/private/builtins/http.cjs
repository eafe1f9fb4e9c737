// Stand-in for node:http in function bundles (see ../builtins-by-require.ts): the name is computed so that esbuild's
// alias of node:http to this file does not apply to this require too.
module.exports = require(['node', 'http'].join(':'));
