// Applies the chosen theme as CSS variables on <html> and remembers the choice in localStorage.
import {
  createContext,
  useCallback,
  useContext,
  useLayoutEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { themeById, type Theme, type ThemeId, type ThemeTokens } from './themes.ts';

/** localStorage key of the chosen theme. */
export const THEME_STORAGE_KEY = 'cyber.theme';

interface ThemeContextValue {
  theme: Theme;
  setTheme: (id: ThemeId) => void;
}

const ThemeContext = createContext<ThemeContextValue | undefined>(undefined);

/** CSS variable name of a token: `surfaceAlt` → `--c-surface-alt`. */
export function cssVariable(token: keyof ThemeTokens): string {
  return `--c-${token.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

function readStored(): string | null {
  try {
    const stored: string | null = window.localStorage.getItem(THEME_STORAGE_KEY);
    return stored;
  } catch {
    return null;
  }
}

/** Props of {@link ThemeProvider}. */
interface Props {
  children: ReactNode;
}

/** Provides {@link useTheme}; the theme applies to the whole document. */
export function ThemeProvider({ children }: Props) {
  const [theme, setThemeState] = useState<Theme>(() => themeById(readStored()));

  useLayoutEffect(() => {
    const root = document.documentElement;
    for (const [token, value] of Object.entries(theme.tokens) as [keyof ThemeTokens, string][]) {
      root.style.setProperty(cssVariable(token), value);
    }
    root.dataset.theme = theme.id;
    root.style.colorScheme = theme.dark ? 'dark' : 'light';
  }, [theme]);

  const setTheme = useCallback((id: ThemeId) => {
    const next = themeById(id);
    setThemeState(next);
    try {
      window.localStorage.setItem(THEME_STORAGE_KEY, next.id);
    } catch {
      // Storage disabled: the choice lasts for this page only.
    }
  }, []);

  const value = useMemo(() => ({ theme, setTheme }), [theme, setTheme]);
  return <ThemeContext.Provider value={value}>{children}</ThemeContext.Provider>;
}

/** The current theme and its setter. */
export function useTheme(): ThemeContextValue {
  const value = useContext(ThemeContext);
  if (value === undefined) throw new Error('useTheme must be used inside <ThemeProvider>');
  return value;
}
