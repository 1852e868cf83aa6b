// Which Monaco language and which sandbox runtime a file gets, from its name.
import type { RunLanguage } from '@cyber/contract';

const BY_EXTENSION: Record<string, string> = {
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'typescript',
  py: 'python',
  sh: 'shell',
  bash: 'shell',
  json: 'json',
  md: 'markdown',
  markdown: 'markdown',
  html: 'html',
  htm: 'html',
  css: 'css',
  scss: 'scss',
  yml: 'yaml',
  yaml: 'yaml',
  toml: 'ini',
  ini: 'ini',
  xml: 'xml',
  svg: 'xml',
  sql: 'sql',
  go: 'go',
  rs: 'rust',
  java: 'java',
  c: 'c',
  h: 'c',
  cpp: 'cpp',
  cc: 'cpp',
  hpp: 'cpp',
  rb: 'ruby',
  php: 'php',
  txt: 'plaintext',
};

const BY_NAME: Record<string, string> = {
  dockerfile: 'dockerfile',
  makefile: 'shell',
  '.bashrc': 'shell',
  '.gitignore': 'plaintext',
};

/** Monaco language id for a path (plaintext when unknown). */
export function languageOf(path: string): string {
  const name = (path.split('/').pop() ?? path).toLowerCase();
  const byName = BY_NAME[name];
  if (byName !== undefined) return byName;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'plaintext';
  return BY_EXTENSION[name.slice(dot + 1)] ?? 'plaintext';
}

/** The sandbox runtime that runs a file, or undefined when none does. */
export function runtimeOf(path: string): RunLanguage | undefined {
  switch (languageOf(path)) {
    case 'javascript':
      return 'node';
    case 'python':
      return 'python';
    case 'shell':
      return 'shell';
    default:
      return undefined;
  }
}
