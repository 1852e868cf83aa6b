// The flat, path-ordered entry list the server returns, as a tree for display.
import type { FsEntry } from '@cyber/contract';

/** A node of the displayed tree. */
export interface TreeNode {
  entry: FsEntry;
  children: TreeNode[];
}

/** Builds the tree: directories first, then files, each by name. Entries whose parent is missing hang at the root. */
export function buildTree(entries: readonly FsEntry[]): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const entry of entries) nodes.set(entry.path, { entry, children: [] });
  const roots: TreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = nodes.get(parentOf(node.entry.path));
    if (parent !== undefined && parent.entry.type === 'directory') parent.children.push(node);
    else roots.push(node);
  }
  const sort = (list: TreeNode[]): TreeNode[] => {
    list.sort((a, b) => {
      const dirA = a.entry.type === 'directory' ? 0 : 1;
      const dirB = b.entry.type === 'directory' ? 0 : 1;
      return dirA - dirB || a.entry.name.localeCompare(b.entry.name);
    });
    for (const node of list) sort(node.children);
    return list;
  };
  return sort(roots);
}

/** Parent directory of a path ('' for the root). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Joins a directory and a name ('' is the root). */
export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * Checks a path typed by the user: relative, no empty, `.` or `..` segments. Returns the cleaned path or an
 * error message.
 */
export function checkPath(input: string): { path: string } | { error: string } {
  const path = input.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') return { error: 'Enter a name.' };
  const segments = path.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return { error: 'Use a relative path without empty, "." or ".." parts.' };
  }
  return { path };
}

/** The paths in `visible` order a keyboard walk goes through (expanded directories only). */
export function visiblePaths(nodes: readonly TreeNode[], expanded: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const walk = (list: readonly TreeNode[]) => {
    for (const node of list) {
      out.push(node.entry.path);
      if (node.entry.type === 'directory' && expanded.has(node.entry.path)) walk(node.children);
    }
  };
  walk(nodes);
  return out;
}
