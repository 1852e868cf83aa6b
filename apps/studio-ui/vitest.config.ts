import { cyberProject } from '../../vitest.shared.ts';

// Pure logic only (session refresh, contrast, tree and tab models, ANSI parsing); the UI itself is proven in
// the browser by tests/e2e.
export default cyberProject({ name: 'studio-ui', test: { include: ['src/**/*.test.ts'] } });
