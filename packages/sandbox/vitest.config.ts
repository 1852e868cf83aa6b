import { cyberProject } from '../../vitest.shared.ts';

// The hostile suite drives the real Docker engine on a 2-core machine: runs are slow and must not overlap
// with each other's limits, so files run one at a time.
export default cyberProject({
  name: 'sandbox',
  test: { testTimeout: 60_000, hookTimeout: 120_000, fileParallelism: false },
});
