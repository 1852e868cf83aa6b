import { cyberProject } from '../../vitest.shared.ts';

// One long test: building the images and bringing the stack up takes minutes on a cold machine.
export default cyberProject({
  name: 'compose',
  test: { testTimeout: 600_000, hookTimeout: 1_500_000 },
});
