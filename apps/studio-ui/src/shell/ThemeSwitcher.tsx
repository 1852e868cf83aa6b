import { useTheme } from '../theme/ThemeProvider.tsx';
import { THEMES, type ThemeId } from '../theme/themes.ts';

/** A select that switches between the themes. */
export function ThemeSwitcher() {
  const { theme, setTheme } = useTheme();
  return (
    <label className="flex items-center gap-2 text-muted">
      <span className="sr-only">Theme</span>
      <select
        aria-label="Theme"
        data-testid="theme-select"
        value={theme.id}
        onChange={(event) => setTheme(event.target.value as ThemeId)}
        className="rounded border border-border bg-surface-alt px-2 py-1 text-fg"
      >
        {THEMES.map((option) => (
          <option key={option.id} value={option.id}>
            {option.label}
          </option>
        ))}
      </select>
    </label>
  );
}
