import { cyberProject } from '../../vitest.shared.ts';

// Test files share one PostgreSQL server and one Redis; each file makes its own database and key prefix.
export default cyberProject({ name: 'auth' });
