// Starts fauxqs on a free loopback port, prints the port as the first line,
// and serves until stdin closes (the test that started it ended).
import { startFauxqs } from 'fauxqs';

const server = await startFauxqs({ port: 0, logger: false });
process.stdout.write(server.port + '\n');
process.stdin.resume();
process.stdin.on('end', async () => { await server.stop?.(); process.exit(0); });
