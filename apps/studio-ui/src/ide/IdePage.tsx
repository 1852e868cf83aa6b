// The IDE of one project: file tree on the left, tabs and the Monaco editor in the middle with the run panel
// below, and the side panel slot (agent chat) on the right.
import { isRpcError, type FsEntry, type Project, type RunSummary, type User } from '@cyber/contract';
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { navigate } from '../lib/router.ts';
import { useRpc } from '../rpc/RpcProvider.tsx';
import { errorText } from '../rpc/error-text.ts';
import { RunPanel } from '../run/RunPanel.tsx';
import { AppShell, canWrite } from '../shell/AppShell.tsx';
import { ChatPanelSlot } from '../shell/mount-points.tsx';
import { useTheme } from '../theme/ThemeProvider.tsx';
import { buttonClass, ConfirmDialog, Modal, PromptDialog } from '../ui/Dialog.tsx';
import { bytesToBase64 } from './bytes.ts';
import { checkPath, joinPath, parentOf } from './file-tree.ts';
import { FileTree } from './FileTree.tsx';
import { languageOf, runtimeOf } from './language.ts';
import { isDirty, withServerFile, type Tab } from './open-tabs.ts';
import { zipFiles } from './zip.ts';

const CodeEditor = lazy(() => import('./CodeEditor.tsx'));

/** Longest the chat panel waits for the editor to mount (a slow or failed editor never hides it for good). */
const CHAT_HOLD_MS = 5000;

/** Props of {@link IdePage}. */
interface Props {
  user: User;
  projectId: string;
}

type Load =
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | { state: 'ready'; project: Project; tree: FsEntry[]; truncated: boolean };

/** The IDE page. */
export function IdePage({ user, projectId }: Props) {
  const rpc = useRpc();
  const { theme } = useTheme();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [recentRuns, setRecentRuns] = useState<RunSummary[]>([]);
  const [tabs, setTabs] = useState<Tab[]>([]);
  const [activePath, setActivePath] = useState<string | undefined>(undefined);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | undefined>(undefined);
  const [dialog, setDialog] = useState<ReactNode>(null);
  const [chatOpen, setChatOpen] = useState(true);
  const [editorShown, setEditorShown] = useState(false);
  const tabsRef = useRef(tabs);
  tabsRef.current = tabs;

  const project = load.state === 'ready' ? load.project : undefined;
  const canEdit = canWrite(user) && project !== undefined && project.access !== 'read';
  const activeTab = tabs.find((tab) => tab.path === activePath);
  // The editor is what a developer opening a file waits for, so the chat panel (its chunk, the Markdown
  // renderer, three calls) waits for it: it mounts once the editor has, at once when no editor is on its way,
  // and after CHAT_HOLD_MS at the latest.
  const holdChat = !editorShown && activePath !== undefined && activeTab?.binary !== true;
  useEffect(() => {
    if (!holdChat) return;
    const timer = setTimeout(() => setEditorShown(true), CHAT_HOLD_MS);
    return () => clearTimeout(timer);
  }, [holdChat]);
  const dirtyPaths = useMemo(() => new Set(tabs.filter(isDirty).map((tab) => tab.path)), [tabs]);

  const refreshTree = useCallback(async () => {
    try {
      const opened = await rpc.call('project.open', { projectId });
      setLoad({
        state: 'ready',
        project: opened.project,
        tree: opened.tree,
        truncated: opened.treeTruncated,
      });
      setRecentRuns(opened.recentRuns);
    } catch (error) {
      // Once the project is open a failed refresh is a notice; before, it is the page's error.
      setLoad((previous) =>
        previous.state === 'ready' ? previous : { state: 'error', message: errorText(error) },
      );
      setNotice({ text: errorText(error), error: true });
    }
  }, [rpc, projectId]);

  useEffect(() => {
    setLoad({ state: 'loading' });
    setTabs([]);
    setActivePath(undefined);
    void refreshTree();
  }, [refreshTree]);

  const updateTab = (path: string, change: Partial<Tab>) =>
    setTabs((previous) => previous.map((tab) => (tab.path === path ? { ...tab, ...change } : tab)));

  const openFile = useCallback(
    async (path: string) => {
      setActivePath(path);
      if (tabsRef.current.some((tab) => tab.path === path)) return;
      try {
        const file = await rpc.call('fs.read', { projectId, path });
        const binary = file.encoding === 'base64';
        const content = binary ? '' : file.content;
        setTabs((previous) =>
          previous.some((tab) => tab.path === path)
            ? previous
            : [...previous, { path, content, saved: content, version: file.version, binary }],
        );
      } catch (error) {
        setNotice({ text: `${path}: ${errorText(error)}`, error: true });
        setActivePath((current) => (current === path ? undefined : current));
      }
    },
    [rpc, projectId],
  );

  /**
   * A file changed on the server (an accepted agent edit): its open tab shows the new content and version,
   * unless the tab has unsaved changes, which are kept (saving them then asks what to do about the conflict).
   */
  const reloadFile = useCallback(
    async (path: string) => {
      const open = tabsRef.current.find((tab) => tab.path === path);
      if (open === undefined || open.binary) return;
      try {
        const file = await rpc.call('fs.read', { projectId, path, encoding: 'utf8' });
        const current = tabsRef.current.find((tab) => tab.path === path);
        setTabs((previous) => withServerFile(previous, path, file));
        if (current !== undefined && isDirty(current) && current.version !== file.version) {
          setNotice({
            text: `${path} changed on the server; your unsaved changes are kept (saving asks what to do).`,
            error: false,
          });
        }
      } catch (error) {
        setNotice({ text: `${path}: ${errorText(error)}`, error: true });
      }
    },
    [rpc, projectId],
  );

  // `?file=path` opens that file (deep links, reloads); the open tab is kept in the URL.
  useEffect(() => {
    const file = new URLSearchParams(window.location.search).get('file');
    if (file !== null && file !== '') void openFile(file);
  }, [openFile]);

  useEffect(() => {
    const url = new URL(window.location.href);
    if (activePath === undefined) url.searchParams.delete('file');
    else url.searchParams.set('file', activePath);
    const next = url.pathname + url.search;
    if (next !== window.location.pathname + window.location.search)
      window.history.replaceState(null, '', next);
  }, [activePath]);

  const closeTab = (path: string) => {
    const tab = tabsRef.current.find((candidate) => candidate.path === path);
    const doClose = () => {
      setTabs((previous) => {
        const index = previous.findIndex((candidate) => candidate.path === path);
        const next = previous.filter((candidate) => candidate.path !== path);
        setActivePath((current) =>
          current === path ? (next[Math.min(index, next.length - 1)]?.path ?? undefined) : current,
        );
        return next;
      });
    };
    if (tab !== undefined && isDirty(tab)) {
      setDialog(
        <ConfirmDialog
          title="Unsaved changes"
          text={`Close ${path} and lose its unsaved changes?`}
          confirmLabel="Close without saving"
          onClose={() => setDialog(null)}
          onConfirm={() => Promise.resolve(doClose())}
        />,
      );
    } else {
      doClose();
    }
  };

  /** Writes a tab; on a version conflict asks what to do. True when what the editor shows is on disk. */
  const save = useCallback(
    async (path: string, options: { overwrite?: boolean } = {}): Promise<boolean> => {
      const tab = tabsRef.current.find((candidate) => candidate.path === path);
      if (tab === undefined || tab.binary) return true;
      if (!canEdit) {
        setNotice({ text: 'This project is read-only for you.', error: true });
        return false;
      }
      if (tab.content === tab.saved && options.overwrite !== true) return true;
      const content = tab.content;
      try {
        const written = await rpc.call('fs.write', {
          projectId,
          path,
          content,
          ...(options.overwrite === true ? {} : { expectedVersion: tab.version }),
        });
        updateTab(path, { saved: content, version: written.version });
        setNotice({ text: `Saved ${path}`, error: false });
        return true;
      } catch (error) {
        if (isRpcError(error, 'conflict')) {
          return new Promise<boolean>((resolve) => {
            setDialog(
              <ConflictDialog
                path={path}
                onReload={async () => {
                  const file = await rpc.call('fs.read', { projectId, path, encoding: 'utf8' });
                  updateTab(path, { content: file.content, saved: file.content, version: file.version });
                  resolve(false);
                }}
                onOverwrite={async () => resolve(await save(path, { overwrite: true }))}
                onKeep={() => resolve(false)}
                onClose={() => setDialog(null)}
              />,
            );
          });
        }
        setNotice({ text: `Could not save ${path}: ${errorText(error)}`, error: true });
        return false;
      }
    },
    [rpc, projectId, canEdit],
  );

  // Ctrl/Cmd+S anywhere on the page saves the open file instead of opening the browser's save dialog.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 's') {
        event.preventDefault();
        if (activePath !== undefined) void save(activePath);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [activePath, save]);

  // Leaving with unsaved changes asks first.
  useEffect(() => {
    if (dirtyPaths.size === 0) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [dirtyPaths]);

  const selectedEntry =
    load.state === 'ready' ? load.tree.find((entry) => entry.path === selected) : undefined;
  const targetDir =
    selectedEntry === undefined
      ? ''
      : selectedEntry.type === 'directory'
        ? selectedEntry.path
        : parentOf(selectedEntry.path);

  const closeDialog = () => setDialog(null);
  const checked = (value: string): string => {
    const result = checkPath(value);
    if ('error' in result) throw new Error(result.error);
    return result.path;
  };

  const newFile = () =>
    setDialog(
      <PromptDialog
        title="New file"
        label="Path (folders are created as needed)"
        initial={targetDir === '' ? '' : `${targetDir}/`}
        confirmLabel="Create"
        onClose={closeDialog}
        onSubmit={async (value) => {
          const path = checked(value);
          await rpc.call('fs.write', { projectId, path, content: '', expectedVersion: null });
          await refreshTree();
          setExpanded((previous) => new Set([...previous, ...ancestors(path)]));
          setSelected(path);
          await openFile(path);
        }}
      />,
    );
  const newFolder = () =>
    setDialog(
      <PromptDialog
        title="New folder"
        label="Path"
        initial={targetDir === '' ? '' : `${targetDir}/`}
        confirmLabel="Create"
        onClose={closeDialog}
        onSubmit={async (value) => {
          const path = checked(value);
          await rpc.call('fs.mkdir', { projectId, path });
          await refreshTree();
          setExpanded((previous) => new Set([...previous, ...ancestors(path), path]));
        }}
      />,
    );
  const rename = (entry: FsEntry) =>
    setDialog(
      <PromptDialog
        title={`Rename or move ${entry.type === 'directory' ? 'folder' : 'file'}`}
        label="New path"
        initial={entry.path}
        confirmLabel="Rename"
        onClose={closeDialog}
        onSubmit={async (value) => {
          const to = checked(value);
          if (to === entry.path) return;
          // fs.rename moves into existing folders only; a move into a new one creates it first.
          if (parentOf(to) !== '') await rpc.call('fs.mkdir', { projectId, path: parentOf(to) });
          await rpc.call('fs.rename', { projectId, from: entry.path, to });
          // Open tabs follow the move.
          const moved = (path: string) =>
            path === entry.path || path.startsWith(`${entry.path}/`)
              ? to + path.slice(entry.path.length)
              : path;
          setTabs((previous) => previous.map((tab) => ({ ...tab, path: moved(tab.path) })));
          setActivePath((current) => (current === undefined ? undefined : moved(current)));
          setSelected(to);
          setExpanded((previous) => new Set([...previous, ...ancestors(to)]));
          await refreshTree();
        }}
      />,
    );
  const remove = (entry: FsEntry) =>
    setDialog(
      <ConfirmDialog
        title="Delete"
        text={`Delete ${entry.path}${entry.type === 'directory' ? ' and everything in it' : ''}?`}
        confirmLabel="Delete"
        onClose={closeDialog}
        onConfirm={async () => {
          await rpc.call('fs.delete', { projectId, path: entry.path, recursive: entry.type === 'directory' });
          const gone = (path: string) => path === entry.path || path.startsWith(`${entry.path}/`);
          setTabs((previous) => previous.filter((tab) => !gone(tab.path)));
          setActivePath((current) => (current !== undefined && gone(current) ? undefined : current));
          setSelected(undefined);
          await refreshTree();
        }}
      />,
    );

  const upload = async (files: readonly File[]) => {
    const failures: string[] = [];
    for (const [index, file] of files.entries()) {
      const path = joinPath(targetDir, file.name);
      setBusy(`Uploading ${index + 1}/${files.length}: ${file.name}`);
      try {
        const content = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
        await rpc.call('fs.write', { projectId, path, content, encoding: 'base64', expectedVersion: null });
      } catch (error) {
        failures.push(
          `${file.name}: ${isRpcError(error, 'conflict') ? 'a file with that name exists' : errorText(error)}`,
        );
      }
    }
    setBusy(undefined);
    setNotice(
      failures.length === 0
        ? { text: `Uploaded ${files.length} file(s)`, error: false }
        : { text: `Upload failed for ${failures.join('; ')}`, error: true },
    );
    await refreshTree();
  };

  const download = async () => {
    if (project === undefined) return;
    try {
      setBusy('Preparing zip…');
      const listing = await rpc.call('fs.list', { projectId, recursive: true, maxEntries: 10_000 });
      const paths = listing.entries.filter((entry) => entry.type === 'file').map((entry) => entry.path);
      const files: { path: string; base64: string }[] = [];
      // A few reads at a time: quick without flooding the gateway.
      for (let i = 0; i < paths.length; i += 4) {
        setBusy(`Reading files ${i + 1}-${Math.min(paths.length, i + 4)} of ${paths.length}…`);
        const batch = await Promise.all(
          paths.slice(i, i + 4).map((path) => rpc.call('fs.read', { projectId, path, encoding: 'base64' })),
        );
        for (const file of batch) files.push({ path: file.path, base64: file.content });
      }
      const archive = zipFiles(files);
      const url = URL.createObjectURL(new Blob([archive as BlobPart], { type: 'application/zip' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `${project.name.replace(/[^\w.-]+/g, '_') || 'project'}.zip`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setNotice({
        text: `Downloaded ${files.length} file(s)${listing.truncated ? ' (listing truncated)' : ''}`,
        error: false,
      });
    } catch (error) {
      setNotice({ text: `Download failed: ${errorText(error)}`, error: true });
    } finally {
      setBusy(undefined);
    }
  };

  if (load.state !== 'ready') {
    return (
      <AppShell user={user} title={<span className="text-muted">Project</span>}>
        {load.state === 'loading' ? (
          <p role="status" className="p-6 text-muted">
            Opening project…
          </p>
        ) : (
          <div role="alert" className="flex flex-col items-start gap-3 p-6 text-danger">
            <p>Could not open the project: {load.message}</p>
            <button type="button" className={buttonClass.plain} onClick={() => navigate('/')}>
              Back to projects
            </button>
          </div>
        )}
      </AppShell>
    );
  }

  return (
    <AppShell
      user={user}
      title={
        <span className="flex items-center gap-2">
          <span className="text-muted">/</span>
          <span data-testid="project-name" className="font-medium">
            {load.project.name}
          </span>
          {!canEdit && (
            <span className="rounded border border-border px-1.5 text-xs text-muted">read-only</span>
          )}
        </span>
      }
    >
      <div className="flex h-full min-h-0">
        <aside className="w-60 shrink-0 border-r border-border bg-surface">
          <FileTree
            entries={load.tree}
            truncated={load.truncated}
            expanded={expanded}
            selected={selected}
            activePath={activePath}
            dirtyPaths={dirtyPaths}
            canEdit={canEdit}
            busy={busy}
            onToggle={(path) =>
              setExpanded((previous) => {
                const next = new Set(previous);
                if (next.has(path)) next.delete(path);
                else next.add(path);
                return next;
              })
            }
            onSelect={(entry) => setSelected(entry.path)}
            onOpen={(entry) => void openFile(entry.path)}
            onNewFile={newFile}
            onNewFolder={newFolder}
            onRename={rename}
            onDelete={remove}
            onUpload={(files) => void upload(files)}
            onDownload={() => void download()}
            onRefresh={() => void refreshTree()}
          />
        </aside>
        <div className="flex min-w-0 flex-1 flex-col">
          <div
            role="tablist"
            aria-label="Open files"
            className="flex h-9 shrink-0 items-stretch overflow-x-auto border-b border-border bg-surface"
          >
            {tabs.map((tab) => {
              const dirty = isDirty(tab);
              const active = tab.path === activePath;
              return (
                <div
                  key={tab.path}
                  className={`flex items-center gap-1 border-r border-border px-2 ${active ? 'bg-bg text-fg' : 'text-muted'}`}
                >
                  <button
                    type="button"
                    role="tab"
                    aria-selected={active}
                    data-testid={`tab-${tab.path}`}
                    data-dirty={dirty}
                    onClick={() => setActivePath(tab.path)}
                    title={tab.path}
                    className="max-w-48 truncate"
                  >
                    {tab.path.split('/').pop()}
                    {dirty && (
                      <span className="ml-1 text-accent2" aria-label="unsaved changes">
                        ●
                      </span>
                    )}
                  </button>
                  <button
                    type="button"
                    aria-label={`Close ${tab.path}`}
                    onClick={() => closeTab(tab.path)}
                    className="rounded px-1 text-muted hover:bg-surface-alt hover:text-fg"
                  >
                    ×
                  </button>
                </div>
              );
            })}
            <div className="flex-1" />
            {notice !== undefined && (
              <p
                role={notice.error ? 'alert' : 'status'}
                data-testid="ide-notice"
                className={`flex max-w-[50%] items-center truncate px-2 text-xs ${notice.error ? 'text-danger' : 'text-success'}`}
                title={notice.text}
              >
                {notice.text}
              </p>
            )}
            <button
              type="button"
              onClick={() => setChatOpen((open) => !open)}
              aria-pressed={chatOpen}
              className="border-l border-border px-2 text-muted hover:text-fg"
            >
              {chatOpen ? 'Hide chat' : 'Chat'}
            </button>
          </div>
          <div className="min-h-0 flex-1" data-testid="editor-area">
            {activeTab === undefined ? (
              <p className="p-6 text-muted">
                {tabs.length === 0 ? 'Open a file from the tree to edit it.' : 'Loading file…'}
              </p>
            ) : activeTab.binary ? (
              <p className="p-6 text-muted">{activeTab.path} is a binary file; download it to view it.</p>
            ) : (
              <Suspense fallback={<p className="p-6 text-muted">Loading editor…</p>}>
                <CodeEditor
                  path={activeTab.path}
                  value={activeTab.content}
                  language={languageOf(activeTab.path)}
                  theme={theme.monacoTheme}
                  readOnly={!canEdit}
                  onChange={(content) => updateTab(activeTab.path, { content })}
                  onSave={() => void save(activeTab.path)}
                  onMounted={() => setEditorShown(true)}
                />
              </Suspense>
            )}
          </div>
          <div className="h-64 shrink-0">
            <RunPanel
              project={load.project}
              activePath={activeTab?.binary === false ? activeTab.path : undefined}
              activeRuntime={activeTab === undefined ? undefined : runtimeOf(activeTab.path)}
              canRun={canEdit}
              saveBeforeRun={() => (activePath === undefined ? Promise.resolve(true) : save(activePath))}
              recentRuns={recentRuns}
              onFinished={(_result, summary) =>
                setRecentRuns((previous) =>
                  [
                    { ...summary, userId: user.id },
                    ...previous.filter((run) => run.runId !== summary.runId),
                  ].slice(0, 20),
                )
              }
            />
          </div>
        </div>
        {chatOpen && (
          <aside aria-label="Side panel" className="w-80 shrink-0 border-l border-border bg-surface">
            {holdChat ? (
              <p className="p-4 text-muted">Loading…</p>
            ) : (
              <ChatPanelSlot
                project={load.project}
                user={user}
                activePath={activePath}
                openFile={(path) => void openFile(path)}
                reloadFile={(path) => void reloadFile(path)}
                refreshTree={() => void refreshTree()}
              />
            )}
          </aside>
        )}
      </div>
      {dialog}
    </AppShell>
  );
}

/** Every ancestor directory of a path. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let dir = parentOf(path); dir !== ''; dir = parentOf(dir)) out.push(dir);
  return out;
}

/** Props of {@link ConflictDialog}. */
interface ConflictProps {
  path: string;
  onReload: () => Promise<void>;
  onOverwrite: () => Promise<void>;
  onKeep: () => void;
  onClose: () => void;
}

/** The file changed on the server since it was opened: reload theirs, overwrite with mine, or keep editing. */
function ConflictDialog({ path, onReload, onOverwrite, onKeep, onClose }: ConflictProps) {
  const [error, setError] = useState<string | undefined>(undefined);
  const act = async (action: () => Promise<void>) => {
    try {
      await action();
      onClose();
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  return (
    <Modal
      title="File changed on the server"
      onClose={() => {
        onKeep();
        onClose();
      }}
    >
      <p>{path} was changed by someone else since you opened it. Your version and theirs differ.</p>
      {error !== undefined && (
        <p role="alert" className="text-danger">
          {error}
        </p>
      )}
      <div className="flex flex-wrap justify-end gap-2">
        <button type="button" className={buttonClass.plain} onClick={() => void act(onReload)}>
          Reload theirs
        </button>
        <button type="button" className={buttonClass.danger} onClick={() => void act(onOverwrite)}>
          Overwrite with mine
        </button>
        <button
          type="button"
          autoFocus
          className={buttonClass.primary}
          onClick={() => {
            onKeep();
            onClose();
          }}
        >
          Keep mine (unsaved)
        </button>
      </div>
    </Modal>
  );
}
