// Unified diffs of the agent's proposed edits, for the review panel. One hunk around the changed lines (common
// leading and trailing lines are context): the agent's edits touch one region per proposal.

/** Lines of context around the change. */
const CONTEXT = 3;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** A unified diff of `before` → `after` for `path`; `null` content means the file is absent. */
export function unifiedDiff(path: string, before: string | null, after: string | null): string {
  const a = splitLines(before ?? '');
  const b = splitLines(after ?? '');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail += 1;
  }
  const from = before === null ? '/dev/null' : `a/${path}`;
  const to = after === null ? '/dev/null' : `b/${path}`;
  const header = `--- ${from}\n+++ ${to}\n`;
  if (head === a.length && head === b.length) return header;
  const start = Math.max(0, head - CONTEXT);
  const aEnd = Math.min(a.length, a.length - tail + CONTEXT);
  const bEnd = Math.min(b.length, b.length - tail + CONTEXT);
  const lines: string[] = [];
  for (let i = start; i < head; i += 1) lines.push(` ${a[i] ?? ''}`);
  for (let i = head; i < a.length - tail; i += 1) lines.push(`-${a[i] ?? ''}`);
  for (let i = head; i < b.length - tail; i += 1) lines.push(`+${b[i] ?? ''}`);
  for (let i = a.length - tail; i < aEnd; i += 1) lines.push(` ${a[i] ?? ''}`);
  const aCount = aEnd - start;
  const bCount = bEnd - start;
  const range = (first: number, count: number): string => `${count === 0 ? first : first + 1},${count}`;
  return `${header}@@ -${range(start, aCount)} +${range(start, bCount)} @@\n${lines.join('\n')}\n`;
}
