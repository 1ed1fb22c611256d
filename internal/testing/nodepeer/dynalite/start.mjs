// Starts dynalite in memory on a free loopback port, prints the port as the
// first line, and serves until stdin closes (the test that started it ended).
import { createRequire } from 'node:module';
import dynalite from 'dynalite';

// DynamoDB returns the existing item with a ConditionalCheckFailedException
// when the request asks for it (ReturnValuesOnConditionCheckFailure: ALL_OLD,
// PutItem/UpdateItem/DeleteItem API reference, since 2023); dynalite 4.0.0
// predates that parameter and ignores it. Add it, so the store's reading of
// a failed condition is exercised as DynamoDB answers.
const require = createRequire(import.meta.url);
for (const action of ['putItem', 'updateItem', 'deleteItem']) {
  require(`dynalite/validations/${action}.js`).types.ReturnValuesOnConditionCheckFailure = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
}
const db = require('dynalite/db/index.js');
const checkConditional = db.checkConditional;
db.checkConditional = function (data, existingItem) {
  const err = checkConditional.apply(this, arguments);
  if (err && err.body && data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && existingItem) err.body.Item = existingItem;
  return err;
};

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(server.address().port + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
