// Turns the unified diff of an edit proposal into the two texts Monaco's diff editor compares. Only the hunks
// are known (not the whole file), so each side is the hunks' lines joined, with a marker line between hunks.

/** The two sides of a diff, ready for a diff editor. */
export interface DiffSides {
  original: string;
  modified: string;
  /** True when the diff had no hunk (no change, or a diff we could not read). */
  empty: boolean;
}

const HUNK = /^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@/;

/** Splits a unified diff into the original and modified text of its hunks. */
export function diffSides(diff: string): DiffSides {
  const original: string[] = [];
  const modified: string[] = [];
  let hunks = 0;
  let inHunk = false;
  for (const line of diff.split('\n')) {
    if (HUNK.test(line)) {
      if (hunks > 0) {
        original.push('⋯');
        modified.push('⋯');
      }
      hunks += 1;
      inHunk = true;
      continue;
    }
    if (!inHunk) continue;
    if (line.startsWith('\\')) continue; // "\ No newline at end of file"
    const body = line.slice(1);
    if (line.startsWith('-')) original.push(body);
    else if (line.startsWith('+')) modified.push(body);
    else if (line.startsWith(' ')) {
      original.push(body);
      modified.push(body);
    }
  }
  return { original: original.join('\n'), modified: modified.join('\n'), empty: hunks === 0 };
}
