/** One problem with one environment variable. */
export interface ConfigIssue {
  /** The environment variable's name, e.g. `CYBER_API_PORT`. */
  variable: string;
  /** What is wrong with it, in words. Never contains the variable's value, which may be a secret. */
  problem: string;
}

/**
 * Thrown when the environment does not describe a valid configuration. It lists every bad variable at once,
 * so an operator fixes them in one pass instead of one restart per typo; values are never echoed because
 * some variables hold secrets (database passwords, the bootstrap admin password).
 */
export class ConfigError extends Error {
  /** Every problem found, sorted by variable name. */
  readonly issues: readonly ConfigIssue[];

  constructor(service: string, issues: readonly ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) => a.variable.localeCompare(b.variable));
    const lines = sorted.map((issue) => `  ${issue.variable}: ${issue.problem}`);
    super(`Invalid ${service} configuration (${sorted.length} problem(s)):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = sorted;
  }
}
