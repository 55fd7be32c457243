import type { Backend } from '../backend.js';
import * as conv from './conv.js';
import * as elementwise from './elementwise.js';
import * as layout from './layout.js';
import * as linalg from './linalg.js';
import * as optim from './optim.js';
import * as pool from './pool.js';

/** The plain TypeScript backend: always present, supports float32 and float64, and defines what is correct. */
export const referenceBackend: Backend = {
  name: 'reference',
  ...elementwise,
  ...linalg,
  ...conv,
  ...pool,
  ...layout,
  ...optim,
};
