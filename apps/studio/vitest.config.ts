import { cyberProject } from '../../vitest.shared.ts';

export default cyberProject({ name: 'studio', test: { testTimeout: 120_000, hookTimeout: 120_000 } });
