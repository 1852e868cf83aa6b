// Monaco's diff editor for one proposed edit, read-only and inline (the side panel is narrow). Its own module
// so Monaco loads only when a proposal is shown.
import { DiffEditor } from '@monaco-editor/react';
import { monaco } from '../../ide/monaco-setup.ts';
import { useTheme } from '../../theme/ThemeProvider.tsx';

/** Props of {@link DiffView}. */
export interface DiffViewProps {
  original: string;
  modified: string;
  /** Path of the file; its extension picks the language. */
  path: string;
}

/** Monaco's language for a path, by extension or file name; plaintext when none matches. */
function languageFor(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const found = monaco.languages
    .getLanguages()
    .find(
      (language) =>
        (language.filenames ?? []).some((file) => file.toLowerCase() === name) ||
        (language.extensions ?? []).some((extension) => name.endsWith(extension.toLowerCase())),
    );
  return found?.id ?? 'plaintext';
}

/** The diff editor (default export for React.lazy). */
export default function DiffView({ original, modified, path }: DiffViewProps) {
  const { theme } = useTheme();
  const lines = Math.max(original.split('\n').length, modified.split('\n').length);
  const height = Math.min(320, Math.max(80, (lines + 2) * 19));
  return (
    <DiffEditor
      height={height}
      original={original}
      modified={modified}
      language={languageFor(path)}
      theme={theme.monacoTheme}
      loading={<p className="p-2 text-muted">Loading diff…</p>}
      options={{
        readOnly: true,
        originalEditable: false,
        renderSideBySide: false,
        minimap: { enabled: false },
        scrollBeyondLastLine: false,
        automaticLayout: true,
        lineNumbers: 'off',
        fontSize: 12,
      }}
    />
  );
}
