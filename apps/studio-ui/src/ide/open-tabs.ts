// The editor's open tabs as data, and how a change made on the server (an accepted agent edit) reaches them:
// a tab without unsaved changes takes the server's content and version; a dirty tab keeps the user's text and
// its old version, so saving it meets the version conflict and asks what to do.

/** An open file. */
export interface Tab {
  path: string;
  /** What the editor holds. */
  content: string;
  /** What the server has at `version` (dirty when content differs). */
  saved: string;
  version: string;
  /** Binary files are listed but not edited. */
  binary: boolean;
}

/** Whether a tab holds changes not on the server. */
export function isDirty(tab: Tab): boolean {
  return tab.content !== tab.saved;
}

/**
 * The tabs after the server's `file` at `path` was read: a clean text tab of it shows that content and
 * version; a dirty or binary tab, and every other tab, stays as it is.
 */
export function withServerFile(
  tabs: readonly Tab[],
  path: string,
  file: { content: string; version: string },
): Tab[] {
  return tabs.map((tab) =>
    tab.path === path && !tab.binary && !isDirty(tab) && tab.version !== file.version
      ? { ...tab, content: file.content, saved: file.content, version: file.version }
      : tab,
  );
}
