// The two themes as plain data: the CSS variables the UI is styled with and the Monaco theme that matches.
// One source for both, so the contrast test checks exactly what the user sees.

/** Colour tokens of a theme (6-digit hex). Every `*Text` token is text, checked against its backgrounds. */
export interface ThemeTokens {
  /** Page background. */
  bg: string;
  /** Panels, bars. */
  surface: string;
  /** Raised or selected rows, inputs. */
  surfaceAlt: string;
  /** Lines between areas. */
  border: string;
  /** Body text. */
  text: string;
  /** Secondary text (labels, hints). */
  mutedText: string;
  /** Links, focus, primary accents (also used as text). */
  accent: string;
  /** Text on an accent-filled button. */
  onAccent: string;
  /** Second accent (dirty markers, highlights; also text). */
  accent2: string;
  /** Errors, stderr, destructive actions (also text). */
  danger: string;
  /** Success (verdict ok; also text). */
  success: string;
  /** Warnings (timeouts; also text). */
  warning: string;
  /** Background of the run output. */
  terminalBg: string;
  /** stdout text on terminalBg. */
  stdoutText: string;
  /** stderr text on terminalBg. */
  stderrText: string;
  /** Selection / focus ring backdrop. */
  selection: string;
}

/** A theme: its name, whether it is dark, its tokens and Monaco's theme id. */
export interface Theme {
  id: ThemeId;
  label: string;
  dark: boolean;
  tokens: ThemeTokens;
  /** Id the Monaco theme is registered under. */
  monacoTheme: string;
}

/** Theme ids. */
export type ThemeId = 'neon-cyber-night' | 'serial-steel';

/** NeonCyberNight: neon accents on near-black. */
const neonCyberNight: Theme = {
  id: 'neon-cyber-night',
  label: 'NeonCyberNight',
  dark: true,
  monacoTheme: 'neon-cyber-night',
  tokens: {
    bg: '#07070d',
    surface: '#0f0f1a',
    surfaceAlt: '#1a1a2b',
    border: '#2c2c48',
    text: '#e8e8f4',
    mutedText: '#a0a0c4',
    accent: '#00e5ff',
    onAccent: '#05050a',
    accent2: '#ff4fd8',
    danger: '#ff6b8b',
    success: '#3dff9a',
    warning: '#ffd84d',
    terminalBg: '#040408',
    stdoutText: '#d6f7ff',
    stderrText: '#ff7a98',
    selection: '#24345c',
  },
};

/** SerialSteel: cool steel greys, industrial, light. */
const serialSteel: Theme = {
  id: 'serial-steel',
  label: 'SerialSteel',
  dark: false,
  monacoTheme: 'serial-steel',
  tokens: {
    bg: '#dde2e7',
    surface: '#eceff2',
    surfaceAlt: '#cfd6dd',
    border: '#9eaab6',
    text: '#161c22',
    mutedText: '#45505c',
    accent: '#1d5a85',
    onAccent: '#ffffff',
    accent2: '#7a3d8c',
    danger: '#a4221b',
    success: '#1b6331',
    warning: '#744c00',
    terminalBg: '#f6f8f9',
    stdoutText: '#1b2229',
    stderrText: '#a4221b',
    selection: '#b6c9da',
  },
};

/** Every theme, the default first. */
export const THEMES: readonly Theme[] = [neonCyberNight, serialSteel];

/** The default theme. */
export const DEFAULT_THEME_ID: ThemeId = 'neon-cyber-night';

/** The theme with `id`, or the default. */
export function themeById(id: string | null | undefined): Theme {
  return THEMES.find((theme) => theme.id === id) ?? neonCyberNight;
}

/** Text/background pairs the UI actually uses; each must meet WCAG AA for normal text (4.5:1). */
export function textPairs(tokens: ThemeTokens): { name: string; fg: string; bg: string }[] {
  const pairs: { name: string; fg: string; bg: string }[] = [];
  const texts = ['text', 'mutedText', 'accent', 'accent2', 'danger', 'success', 'warning'] as const;
  for (const background of ['bg', 'surface', 'surfaceAlt'] as const) {
    for (const text of texts) {
      pairs.push({ name: `${text} on ${background}`, fg: tokens[text], bg: tokens[background] });
    }
  }
  pairs.push({ name: 'onAccent on accent', fg: tokens.onAccent, bg: tokens.accent });
  pairs.push({ name: 'stdoutText on terminalBg', fg: tokens.stdoutText, bg: tokens.terminalBg });
  pairs.push({ name: 'stderrText on terminalBg', fg: tokens.stderrText, bg: tokens.terminalBg });
  pairs.push({ name: 'text on selection', fg: tokens.text, bg: tokens.selection });
  return pairs;
}
