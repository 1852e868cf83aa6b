// Run output with ANSI colours, as plain segments React renders as text (never HTML), one parser state per
// stream so colours carry across chunks, and an escape sequence split between two chunks is held back until
// its end arrives.
import Anser from 'anser';

/** A piece of output text with its colours (CSS colour strings) and decorations. */
export interface AnsiSegment {
  text: string;
  fg?: string;
  bg?: string;
  bold?: boolean;
  italic?: boolean;
  underline?: boolean;
  dim?: boolean;
}

// An escape sequence cut off at the end of a chunk: ESC, or ESC [ with parameters but no final byte yet.
// eslint-disable-next-line no-control-regex -- ANSI escape sequences start with ESC
const PARTIAL_ESCAPE = /\u001b(\[[0-9;?]*)?$/;
// eslint-disable-next-line no-control-regex -- ANSI escape sequences start with ESC
const SGR = /\u001b\[([0-9;]*)m/g;

/** Parses one stream's output chunk by chunk. */
export class AnsiStream {
  private readonly anser = new Anser();
  private pending = '';
  // Anser parses each call on its own, so the colour codes still in force are replayed before the next chunk.
  private active = '';

  /** Segments of `chunk` (plus any escape held back from the previous chunk). */
  push(chunk: string): AnsiSegment[] {
    let text = this.pending + chunk;
    const partial = PARTIAL_ESCAPE.exec(text);
    this.pending = partial === null ? '' : partial[0];
    if (partial !== null) text = text.slice(0, partial.index);
    if (text === '') return [];
    const replay = this.active;
    for (const match of text.matchAll(SGR)) {
      const params = match[1] ?? '';
      this.active = params === '' || params === '0' ? '' : this.active + match[0];
    }
    return this.anser
      .ansiToJson(replay + text, { json: true, remove_empty: true, use_classes: false })
      .map((entry) => {
        const segment: AnsiSegment = { text: entry.content };
        if (entry.fg) segment.fg = `rgb(${entry.fg})`;
        if (entry.bg) segment.bg = `rgb(${entry.bg})`;
        const decorations = entry.decorations;
        if (decorations.includes('bold')) segment.bold = true;
        if (decorations.includes('italic')) segment.italic = true;
        if (decorations.includes('underline')) segment.underline = true;
        if (decorations.includes('dim')) segment.dim = true;
        return segment;
      });
  }
}
