// Monaco themes built from the same tokens as the UI.
import type { editor } from 'monaco-editor';
import { THEMES, type Theme } from './themes.ts';

const strip = (hex: string): string => hex.replace('#', '');

/** Monaco's theme data for a studio theme. */
export function monacoThemeData(theme: Theme): editor.IStandaloneThemeData {
  const t = theme.tokens;
  return {
    base: theme.dark ? 'vs-dark' : 'vs',
    inherit: true,
    rules: [
      { token: 'comment', foreground: strip(t.mutedText), fontStyle: 'italic' },
      { token: 'keyword', foreground: strip(t.accent2) },
      { token: 'string', foreground: strip(t.success) },
      { token: 'number', foreground: strip(t.warning) },
      { token: 'type', foreground: strip(t.accent) },
      { token: 'function', foreground: strip(t.accent) },
    ],
    colors: {
      'editor.background': t.terminalBg,
      'editor.foreground': t.text,
      'editorLineNumber.foreground': t.mutedText,
      'editorLineNumber.activeForeground': t.accent,
      'editorCursor.foreground': t.accent,
      'editor.selectionBackground': t.selection,
      'editor.lineHighlightBackground': t.surface,
      'editorWidget.background': t.surface,
      'editorWidget.border': t.border,
      'input.background': t.surfaceAlt,
      'input.foreground': t.text,
      focusBorder: t.accent,
    },
  };
}

/** Registers every studio theme with Monaco. */
export function defineMonacoThemes(monaco: { editor: { defineTheme: typeof editor.defineTheme } }): void {
  for (const theme of THEMES) monaco.editor.defineTheme(theme.monacoTheme, monacoThemeData(theme));
}
