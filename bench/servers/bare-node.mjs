// A node process that does nothing: the floor under every RSS figure.
process.send({ ready: 1 });
process.on('message', () => undefined);
