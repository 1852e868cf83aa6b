// The Monaco editor of the open tab. One model per path (undo history and cursor survive tab switches);
// Ctrl/Cmd+S saves. Monaco's own find (Ctrl/Cmd+F) and replace (Ctrl+H / Cmd+Alt+F) stay as they are; no
// binding is added for Ctrl/Cmd+W, N or T, which belong to the browser.
import Editor, { type OnMount } from '@monaco-editor/react';
import { useEffect, useRef } from 'react';
import { monaco } from './monaco-setup.ts';

/** Props of {@link CodeEditor}. */
export interface CodeEditorProps {
  path: string;
  value: string;
  language: string;
  theme: string;
  readOnly: boolean;
  onChange: (value: string) => void;
  onSave: () => void;
  /** Called once the editor is created and focused. */
  onMounted?: () => void;
}

/** The editor (default export for React.lazy). */
export default function CodeEditor({
  path,
  value,
  language,
  theme,
  readOnly,
  onChange,
  onSave,
  onMounted,
}: CodeEditorProps) {
  const saveRef = useRef(onSave);
  useEffect(() => {
    saveRef.current = onSave;
  }, [onSave]);

  const mount: OnMount = (editor) => {
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => saveRef.current());
    editor.focus();
    onMounted?.();
  };

  return (
    <Editor
      path={path}
      value={value}
      language={language}
      theme={theme}
      onMount={mount}
      onChange={(next) => onChange(next ?? '')}
      loading={<p className="p-4 text-muted">Loading editor…</p>}
      options={{
        readOnly,
        domReadOnly: readOnly,
        automaticLayout: true,
        minimap: { enabled: false },
        fontSize: 14,
        scrollBeyondLastLine: false,
        tabSize: 2,
        renderWhitespace: 'selection',
      }}
    />
  );
}
