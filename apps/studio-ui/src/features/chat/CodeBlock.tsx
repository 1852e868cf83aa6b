// A fenced code block of a chat answer, highlighted by Monaco's own colorizer (Monaco is bundled already, so
// no second highlighter ships). Shown as plain text at once and coloured when Monaco has loaded.
import { useEffect, useState } from 'react';
import { useTheme } from '../../theme/ThemeProvider.tsx';

/** Props of {@link CodeBlock}. */
interface Props {
  code: string;
  /** The fence's language (`py`, `typescript` …); may be an alias or unknown. */
  language: string | undefined;
}

/** Monaco language id for a fence name, or undefined when Monaco does not know it. */
function languageId(
  languages: { id: string; aliases?: string[]; extensions?: string[] }[],
  name: string | undefined,
): string | undefined {
  if (name === undefined || name === '') return undefined;
  const wanted = name.toLowerCase();
  const found = languages.find(
    (language) =>
      language.id === wanted ||
      (language.aliases ?? []).some((alias) => alias.toLowerCase() === wanted) ||
      (language.extensions ?? []).includes(`.${wanted}`),
  );
  return found?.id;
}

/** A highlighted code block. */
export function CodeBlock({ code, language }: Props) {
  const { theme } = useTheme();
  const [html, setHtml] = useState<string | undefined>(undefined);

  useEffect(() => {
    let live = true;
    void (async () => {
      const { monaco } = await import('../../ide/monaco-setup.ts');
      const id = languageId(monaco.languages.getLanguages(), language);
      if (id === undefined) return;
      // The colorizer's classes take their colours from the active Monaco theme.
      monaco.editor.setTheme(theme.monacoTheme);
      const coloured = await monaco.editor.colorize(code, id, { tabSize: 2 });
      if (live) setHtml(coloured);
    })().catch(() => undefined);
    return () => {
      live = false;
    };
  }, [code, language, theme.monacoTheme]);

  return (
    <div className="my-2 overflow-hidden rounded border border-border bg-terminal">
      {language !== undefined && language !== '' && (
        <div className="border-b border-border px-2 py-0.5 font-mono text-xs text-muted">{language}</div>
      )}
      {html === undefined ? (
        <pre className="overflow-x-auto p-2 font-mono text-[13px] text-fg">
          <code>{code}</code>
        </pre>
      ) : (
        // Monaco's colorizer escapes the code and emits only spans with its token classes.
        <pre
          className="monaco-colorized overflow-x-auto p-2 font-mono text-[13px] text-fg"
          data-testid="code-colorized"
          dangerouslySetInnerHTML={{ __html: html }}
        />
      )}
    </div>
  );
}
