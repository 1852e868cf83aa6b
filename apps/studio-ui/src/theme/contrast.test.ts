import { describe, expect, it } from 'vitest';
import { AA_NORMAL_TEXT, contrastRatio } from './contrast.ts';
import { textPairs, THEMES } from './themes.ts';

describe('contrast', () => {
  it('computes the WCAG reference values', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#ffffff', '#ffffff')).toBeCloseTo(1, 5);
    // #767676 on white is the classic just-AA grey (4.54:1).
    expect(contrastRatio('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
  });

  for (const theme of THEMES) {
    it(`${theme.label}: every text colour meets WCAG AA on every background it is used on`, () => {
      const failing = textPairs(theme.tokens)
        .map((pair) => ({ ...pair, ratio: Number(contrastRatio(pair.fg, pair.bg).toFixed(2)) }))
        .filter((pair) => pair.ratio < AA_NORMAL_TEXT);
      expect(failing).toEqual([]);
    });
  }
});
