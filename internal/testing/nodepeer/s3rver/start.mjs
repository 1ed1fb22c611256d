// Starts s3rver on a free loopback port with its buckets in the directory
// given as the first argument, prints the port as the first line, and serves
// until stdin closes (the test that started it ended).
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import S3rver from 's3rver';

// s3rver's ListObjectsV2 continuation tokens are encrypted with single DES
// ('des', i.e. DES-CBC), which OpenSSL 3 (Node 17 and later) only offers
// through its legacy provider: every truncated listing would fail with
// "digital envelope routines::unsupported". Three-key DES with three equal
// keys is single DES, and 'des-ede3-cbc' is in OpenSSL's default provider.
// The tokens stay opaque to clients, as S3 documents them.
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = function (algorithm, key, iv, options) {
    if (algorithm === 'des') {
      return original.call(this, 'des-ede3-cbc', Buffer.concat([key, key, key]), iv, options);
    }
    return original.call(this, algorithm, key, iv, options);
  };
}

// s3rver knows one access key (S3RVER) and checks only that the key exists
// (it does not verify SigV4 signatures). The tests' AWS clients sign with the
// key the other local fakes take (awsfake's Env: "local").
const require = createRequire(import.meta.url);
require('s3rver/lib/models/account.js').DUMMY_ACCOUNT.createKeyPair('local', 'local');

const directory = process.argv[2];
if (!directory) {
  process.stderr.write('usage: node start.mjs <directory>\n');
  process.exit(2);
}
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const { port } = await server.run();
process.stdout.write(port + '\n');
process.stdin.resume();
process.stdin.on('end', async () => { await server.close(); process.exit(0); });
