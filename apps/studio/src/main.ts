// `pnpm studio`: the whole studio in one process (the only file that reads the environment). Builds the UI when
// needed, starts auth, llmserver and the gateway on embedded PostgreSQL (PGlite), Redis and usage bus with data
// under .studio, prints the URL (and the first admin's credentials, once), and stops cleanly on Ctrl+C.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { announcement } from './announce.js';
import { loadStudioConfig } from './studio-config.js';
import { startStudio } from './studio.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// pnpm runs the script in apps/studio; INIT_CWD is where the user typed the command.
const config = loadStudioConfig(process.env, { cwd: process.env.INIT_CWD ?? process.cwd(), repoRoot });
const report = (line: string) => process.stdout.write(`${line}\n`);

const studio = await startStudio({ config, repoRoot, env: process.env, report }).catch((error: unknown) => {
  // Whatever was opened is closed again by now; say why in one line instead of a stack trace.
  process.stderr.write(
    `studio: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
// SIGINT and SIGTERM are handled below; close-with-grace covers crashes and other signals, and bounds the
// shutdown to 30 s.
const grace = closeWithGrace({ delay: 30_000, skip: ['SIGINT', 'SIGTERM'] }, async ({ err, signal }) => {
  if (err !== undefined) process.stderr.write(`studio: stopping after an error: ${String(err)}\n`);
  else if (signal !== undefined) report(`Stopping (${signal})…`);
  await studio.close();
  report('Stopped.');
});
// Ctrl+C in a terminal signals the whole process group (pnpm, tsx and this process), and tsx relays it too, so
// one keypress arrives here two or three times within milliseconds. Only a signal well after the first means
// "stop now, without finishing the shutdown".
let firstSignalAt: number | undefined;
const onStopSignal = (signal: NodeJS.Signals): void => {
  if (firstSignalAt === undefined) {
    firstSignalAt = Date.now();
    report(`Stopping (${signal})…`);
    void grace.close();
  } else if (Date.now() - firstSignalAt > 2_000) {
    report(`Second ${signal}: exiting without finishing the shutdown.`);
    process.exit(1);
  }
};
process.on('SIGINT', onStopSignal);
process.on('SIGTERM', onStopSignal);
for (const line of announcement(studio, config.dir)) report(line);
