/**
 * Child process for the SIGKILL test: saves large checkpoints to one path in a loop until killed.
 * argv[2]: the checkpoint path.
 */
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { Dense } from '../../src/layers/core.js';
import { Sequential } from '../../src/models/sequential.js';

const model = new Sequential([new Dense({ units: 2048, inputShape: [4096] })]); // 8M weights, 32 MB a file
model.build([null, 4096]);
let epoch = 1;
process.stdout.write('writing\n');
for (;;) saveCheckpoint(process.argv[2], model, { epoch: epoch++ });
