// A parser for the Prometheus text exposition format (version 0.0.4), the format prom-client writes at /metrics.
// Written here rather than taken from npm: prom-client has no parser, the npm parsers for this format are small
// and long unmaintained, and the part we need is short: sample lines with escaped label values and the special
// values. `# HELP` / `# TYPE` lines and comments are skipped; a histogram is just its `_bucket`, `_sum` and
// `_count` samples, which is what the evaluator needs.

/** One sample: the metric name, its labels and its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** The value of a sample: a float, or `NaN`, `+Inf`, `-Inf` (any case, as the format allows). */
function parseValue(text: string, lineNumber: number): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) {
    throw new Error(`line ${lineNumber}: ${JSON.stringify(text)} is not a sample value`);
  }
  return value;
}

/** Parses `{a="x",b="y\"z"}` at the start of `text`; returns the labels and what follows. */
function parseLabels(text: string, lineNumber: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  const fail = (why: string): never => {
    throw new Error(`line ${lineNumber}: ${why}`);
  };
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i += 1;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const name = LABEL_NAME.exec(text.slice(i))?.[0] ?? fail('a label name was expected');
    i += name.length;
    while (text[i] === ' ') i += 1;
    if (text[i] !== '=' || text[i + 1] !== '"') fail(`label ${name} has no quoted value`);
    i += 2;
    let value = '';
    for (;;) {
      const char = text[i];
      if (char === undefined) fail(`label ${name} has an unterminated value`);
      i += 1;
      if (char === '"') break;
      if (char === '\\') {
        const escaped = text[i];
        i += 1;
        value +=
          escaped === 'n' ? '\n' : escaped === '\\' ? '\\' : escaped === '"' ? '"' : `\\${escaped ?? ''}`;
      } else {
        value += char;
      }
    }
    labels[name] = value;
    while (text[i] === ' ') i += 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') fail('a comma or } was expected after a label');
  }
}

/**
 * Every sample in an exposition text. Throws with the line number on a malformed line, so a service that
 * answers something else than metrics is reported instead of read as empty.
 */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const lineNumber = index + 1;
    const name = NAME.exec(line)?.[0];
    if (name === undefined) throw new Error(`line ${lineNumber}: a metric name was expected`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, lineNumber));
    // The value, then an optional timestamp (ignored: the scrape time is what matters here).
    const [valueText = ''] = rest.trim().split(/\s+/);
    samples.push({ name, labels, value: parseValue(valueText, lineNumber) });
  }
  return samples;
}
