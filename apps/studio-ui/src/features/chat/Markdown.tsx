// An answer rendered as Markdown. Raw HTML in the model's output is not rendered (react-markdown's default),
// links open in a new tab without the opener, and fenced code goes through {@link CodeBlock}.
import type { ComponentPropsWithoutRef, ReactNode } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import { CodeBlock } from './CodeBlock.tsx';

/** Props of {@link Markdown}. */
interface Props {
  text: string;
}

/** The text of a code element's children (react-markdown gives a string, or strings in an array). */
function textOf(children: ReactNode): string {
  if (typeof children === 'string') return children;
  if (Array.isArray(children)) return children.map((child: ReactNode) => textOf(child)).join('');
  return '';
}

const components: Components = {
  // Block code arrives as <pre><code class="language-x">; inline code has no <pre> around it.
  pre({ children }) {
    return <>{children}</>;
  },
  code({ className, children, node, ...rest }: ComponentPropsWithoutRef<'code'> & { node?: unknown }) {
    const text = textOf(children);
    const fence = /language-([\w+#.-]+)/.exec(className ?? '');
    const position = (node as { position?: { start: { line: number }; end: { line: number } } } | undefined)
      ?.position;
    const block =
      fence !== null ||
      text.includes('\n') ||
      (position !== undefined && position.end.line > position.start.line);
    if (!block) {
      return (
        <code className="rounded bg-surface-alt px-1 font-mono text-[13px]" {...rest}>
          {children}
        </code>
      );
    }
    return <CodeBlock code={text.replace(/\n$/, '')} language={fence?.[1]} />;
  },
  a({ children, href }) {
    return (
      <a href={href} target="_blank" rel="noopener noreferrer" className="text-accent underline">
        {children}
      </a>
    );
  },
  ul({ children }) {
    return <ul className="my-1 list-disc pl-5">{children}</ul>;
  },
  ol({ children }) {
    return <ol className="my-1 list-decimal pl-5">{children}</ol>;
  },
  p({ children }) {
    return <p className="my-1 whitespace-pre-wrap break-words">{children}</p>;
  },
  h1({ children }) {
    return <h3 className="mt-2 text-base font-semibold">{children}</h3>;
  },
  h2({ children }) {
    return <h3 className="mt-2 text-base font-semibold">{children}</h3>;
  },
  h3({ children }) {
    return <h4 className="mt-2 font-semibold">{children}</h4>;
  },
  blockquote({ children }) {
    return <blockquote className="my-1 border-l-2 border-border pl-2 text-muted">{children}</blockquote>;
  },
};

/** Markdown text. */
export function Markdown({ text }: Props) {
  return (
    <div className="chat-markdown min-w-0 break-words" data-testid="chat-markdown">
      <ReactMarkdown components={components}>{text}</ReactMarkdown>
    </div>
  );
}
