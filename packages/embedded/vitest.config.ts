import { cyberProject } from '../../vitest.shared.ts';

export default cyberProject({ name: 'embedded' });
