// The project's file tree: folders expand and collapse, files open on click or Enter, arrows move between
// rows. Writers get create, rename/move, delete, upload; everyone can download the project as a zip.
import type { FsEntry } from '@cyber/contract';
import { useMemo, useRef, type KeyboardEvent } from 'react';
import { buildTree, visiblePaths, type TreeNode } from './file-tree.ts';

/** Props of {@link FileTree}. */
export interface FileTreeProps {
  entries: readonly FsEntry[];
  truncated: boolean;
  expanded: ReadonlySet<string>;
  selected: string | undefined;
  activePath: string | undefined;
  dirtyPaths: ReadonlySet<string>;
  canEdit: boolean;
  busy: string | undefined;
  onToggle: (path: string) => void;
  onSelect: (entry: FsEntry) => void;
  onOpen: (entry: FsEntry) => void;
  onNewFile: () => void;
  onNewFolder: () => void;
  onRename: (entry: FsEntry) => void;
  onDelete: (entry: FsEntry) => void;
  onUpload: (files: readonly File[]) => void;
  onDownload: () => void;
  onRefresh: () => void;
}

const toolClass = 'rounded px-1.5 py-0.5 text-muted hover:bg-surface-alt hover:text-fg disabled:opacity-50';

/** The file tree panel. */
export function FileTree(props: FileTreeProps) {
  const { entries, expanded, selected } = props;
  const tree = useMemo(() => buildTree(entries), [entries]);
  const order = useMemo(() => visiblePaths(tree, expanded), [tree, expanded]);
  const listRef = useRef<HTMLDivElement>(null);
  const uploadRef = useRef<HTMLInputElement>(null);
  const byPath = useMemo(() => new Map(entries.map((entry) => [entry.path, entry])), [entries]);

  const focusPath = (path: string | undefined) => {
    if (path === undefined) return;
    const row = listRef.current?.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`);
    row?.focus();
    const entry = byPath.get(path);
    if (entry !== undefined) props.onSelect(entry);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const current = (document.activeElement as HTMLElement | null)?.dataset.path;
    const index = current === undefined ? -1 : order.indexOf(current);
    const entry = current === undefined ? undefined : byPath.get(current);
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault();
        focusPath(order[Math.min(order.length - 1, index + 1)]);
        break;
      case 'ArrowUp':
        event.preventDefault();
        focusPath(order[Math.max(0, index - 1)]);
        break;
      case 'ArrowRight':
        if (entry?.type === 'directory' && !expanded.has(entry.path)) props.onToggle(entry.path);
        break;
      case 'ArrowLeft':
        if (entry?.type === 'directory' && expanded.has(entry.path)) props.onToggle(entry.path);
        break;
      case 'F2':
        if (entry !== undefined && props.canEdit) props.onRename(entry);
        break;
      case 'Delete':
        if (entry !== undefined && props.canEdit) props.onDelete(entry);
        break;
      default:
    }
  };

  const renderNode = (node: TreeNode, depth: number) => {
    const { entry } = node;
    const isDir = entry.type === 'directory';
    const open = isDir && expanded.has(entry.path);
    const dirty = props.dirtyPaths.has(entry.path);
    return (
      <li key={entry.path} role="none">
        <button
          type="button"
          role="treeitem"
          aria-expanded={isDir ? open : undefined}
          aria-selected={selected === entry.path}
          data-path={entry.path}
          data-testid={`tree-item-${entry.path}`}
          onClick={() => {
            props.onSelect(entry);
            if (isDir) props.onToggle(entry.path);
            else if (entry.type === 'file') props.onOpen(entry);
          }}
          style={{ paddingLeft: `${0.5 + depth * 0.9}rem` }}
          className={`flex w-full items-center gap-1.5 truncate py-0.5 pr-2 text-left hover:bg-surface-alt ${
            selected === entry.path ? 'bg-selection' : ''
          } ${props.activePath === entry.path ? 'font-semibold text-accent' : ''}`}
        >
          <span aria-hidden className="w-3 text-muted">
            {isDir ? (open ? '▾' : '▸') : entry.type === 'symlink' ? '↪' : ''}
          </span>
          <span className="truncate">{entry.name}</span>
          {dirty && (
            <span className="text-accent2" aria-label="unsaved changes">
              ●
            </span>
          )}
        </button>
        {open && node.children.length > 0 && (
          <ul role="group">{node.children.map((child) => renderNode(child, depth + 1))}</ul>
        )}
      </li>
    );
  };

  const selectedEntry = selected === undefined ? undefined : byPath.get(selected);

  return (
    <section aria-label="Files" className="flex h-full flex-col">
      <div className="flex flex-wrap items-center gap-0.5 border-b border-border px-1 py-1">
        <span className="flex-1 px-1 text-xs font-semibold tracking-wide text-muted uppercase">Files</span>
        {props.canEdit && (
          <>
            <button
              type="button"
              className={toolClass}
              onClick={props.onNewFile}
              title="New file"
              aria-label="New file"
            >
              +file
            </button>
            <button
              type="button"
              className={toolClass}
              onClick={props.onNewFolder}
              title="New folder"
              aria-label="New folder"
            >
              +dir
            </button>
            <button
              type="button"
              className={toolClass}
              onClick={() => uploadRef.current?.click()}
              title="Upload files"
              aria-label="Upload files"
            >
              ⇪
            </button>
            <input
              ref={uploadRef}
              type="file"
              multiple
              hidden
              data-testid="upload-input"
              onChange={(event) => {
                // Copied first: clearing the input (so the same file can be picked again) empties its FileList.
                const files = [...(event.target.files ?? [])];
                event.target.value = '';
                if (files.length > 0) props.onUpload(files);
              }}
            />
          </>
        )}
        <button
          type="button"
          className={toolClass}
          onClick={props.onDownload}
          title="Download as zip"
          aria-label="Download as zip"
        >
          ⇩zip
        </button>
        <button
          type="button"
          className={toolClass}
          onClick={props.onRefresh}
          title="Refresh"
          aria-label="Refresh files"
        >
          ⟳
        </button>
      </div>
      {props.canEdit && selectedEntry !== undefined && (
        <div className="flex gap-1 border-b border-border px-2 py-1 text-xs">
          <span className="min-w-0 flex-1 truncate text-muted">{selectedEntry.path}</span>
          <button type="button" className={toolClass} onClick={() => props.onRename(selectedEntry)}>
            Rename
          </button>
          <button type="button" className={toolClass} onClick={() => props.onDelete(selectedEntry)}>
            Delete
          </button>
        </div>
      )}
      {props.busy !== undefined && (
        <p role="status" className="px-2 py-1 text-xs text-muted">
          {props.busy}
        </p>
      )}
      <div ref={listRef} className="min-h-0 flex-1 overflow-auto py-1" onKeyDown={onKeyDown}>
        {entries.length === 0 ? (
          <p className="px-3 py-2 text-muted">
            {props.canEdit ? 'No files yet. Create one with +file.' : 'This project has no files.'}
          </p>
        ) : (
          <ul role="tree" aria-label="Project files">
            {tree.map((node) => renderNode(node, 0))}
          </ul>
        )}
        {props.truncated && (
          <p className="px-3 py-2 text-xs text-warning">Only the first entries are shown.</p>
        )}
      </div>
    </section>
  );
}
