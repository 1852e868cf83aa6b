// What the studio prints when it is up. The credentials of a just-created admin appear here once and nowhere
// else: not in the logs, not on disk. tests/e2e reads these lines, so their shape is part of the interface.
import type { Studio } from './studio.js';

/** The lines to print once the studio is up. */
export function announcement(studio: Studio, dir: string): string[] {
  const lines = [`CyberDevStudio is ready at ${studio.url}`];
  if (studio.createdAdmin === undefined) {
    lines.push(
      'The admin account already exists: sign in with the password shown on the first start',
      `(forgotten? stop the studio and delete ${dir} to start afresh).`,
    );
  } else if (studio.createdAdmin.password === undefined) {
    lines.push(
      `Created the admin account "${studio.createdAdmin.username}" with CYBER_BOOTSTRAP_ADMIN_PASSWORD.`,
    );
  } else {
    lines.push(
      'Created the first admin account (shown only this once; change the password after signing in):',
      `  username: ${studio.createdAdmin.username}`,
      `  password: ${studio.createdAdmin.password}`,
    );
  }
  lines.push(
    `Model: ${studio.model.name} (${studio.model.origin === 'tiny' ? 'tiny test model' : studio.model.path})`,
  );
  lines.push(
    studio.sandboxUnavailable === undefined
      ? 'Runs: Docker sandbox ready.'
      : `Runs: off. ${studio.sandboxUnavailable}`,
  );
  lines.push(
    `Data: ${dir}${studio.logFile === undefined ? '' : `; logs: ${studio.logFile}`}`,
    'Press Ctrl+C to stop.',
  );
  return lines;
}
