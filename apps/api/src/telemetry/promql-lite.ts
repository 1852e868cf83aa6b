// A small PromQL evaluator for the telemetry panels when no Prometheus is configured: the api scrapes the
// services itself and evaluates each panel's query over the last two scrapes. It covers the subset the panels
// use (selectors with =, !=, =~, !~ matchers; rate(); sum/min/max/avg/count with `by`; histogram_quantile;
// `/` and `*` between vectors or with a number) and refuses anything else with UnsupportedQueryError, so an
// unsupported panel says so instead of showing a wrong number.
//
// Differences from Prometheus, by design: a range (`[5m]`) is ignored and rate() is the increase between the
// two scrapes divided by the seconds between them (a counter that went down restarted, so its new value is the
// increase), which is what "the rate since the last look" means for a dashboard polled every few seconds. Each
// sample carries the `job` label of the target it was scraped from.
import type { Sample } from './prom-text.js';

/** A query outside the supported subset. */
export class UnsupportedQueryError extends Error {
  override readonly name = 'UnsupportedQueryError';
}

/** One element of an instant vector. */
export interface VectorElement {
  labels: Record<string, string>;
  value: number;
}

/** What a query is evaluated over: the newest scrape and, for rate(), the one before it. */
export interface EvalInput {
  current: readonly Sample[];
  previous: readonly Sample[] | undefined;
  /** Seconds between the two scrapes. */
  seconds: number;
}

type Matcher = { label: string; op: '=' | '!=' | '=~' | '!~'; value: string; regex?: RegExp };
type AggregateOp = 'sum' | 'min' | 'max' | 'avg' | 'count';

type Node =
  | { kind: 'number'; value: number }
  | { kind: 'selector'; name: string; matchers: Matcher[] }
  | { kind: 'rate'; selector: { name: string; matchers: Matcher[] } }
  | { kind: 'aggregate'; op: AggregateOp; by: string[]; expr: Node }
  | { kind: 'quantile'; q: number; expr: Node }
  | { kind: 'binary'; op: '/' | '*'; left: Node; right: Node };

type Token =
  | { type: 'ident'; text: string }
  | { type: 'number'; value: number }
  | { type: 'string'; value: string }
  | { type: 'range' }
  | { type: 'punct'; text: string };

const AGGREGATES = new Set<string>(['sum', 'min', 'max', 'avg', 'count']);

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const rest = query.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const range = /^\[\s*\d+[smhdwy]\s*\]/.exec(rest);
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    const number = /^\d+(\.\d+)?/.exec(rest);
    const punct = /^(=~|!~|!=|[(){},/*=])/.exec(rest);
    if (range) {
      tokens.push({ type: 'range' });
      i += range[0].length;
    } else if (ident) {
      tokens.push({ type: 'ident', text: ident[0] });
      i += ident[0].length;
    } else if (number) {
      tokens.push({ type: 'number', value: Number(number[0]) });
      i += number[0].length;
    } else if (rest.startsWith('"')) {
      let value = '';
      let j = 1;
      for (; j < rest.length && rest[j] !== '"'; j += 1) {
        if (rest[j] === '\\') j += 1;
        value += rest[j] ?? '';
      }
      if (j >= rest.length) throw new UnsupportedQueryError('unterminated string');
      tokens.push({ type: 'string', value });
      i += j + 1;
    } else if (punct) {
      tokens.push({ type: 'punct', text: punct[0] });
      i += punct[0].length;
    } else {
      throw new UnsupportedQueryError(`unexpected ${JSON.stringify(rest.slice(0, 10))}`);
    }
  }
  return tokens;
}

/** Parses a query of the supported subset into a tree. */
export function parseQuery(query: string): Node {
  const tokens = tokenize(query);
  let at = 0;
  const peek = (): Token | undefined => tokens[at];
  const isPunct = (text: string): boolean => {
    const token = peek();
    return token?.type === 'punct' && token.text === text;
  };
  const expect = (text: string): void => {
    if (!isPunct(text)) throw new UnsupportedQueryError(`expected ${text} at token ${at + 1}`);
    at += 1;
  };
  const ident = (): string => {
    const token = peek();
    if (token?.type !== 'ident') throw new UnsupportedQueryError(`expected a name at token ${at + 1}`);
    at += 1;
    return token.text;
  };
  const labelList = (): string[] => {
    expect('(');
    const labels: string[] = [];
    while (!isPunct(')')) {
      labels.push(ident());
      if (isPunct(',')) at += 1;
    }
    expect(')');
    return labels;
  };
  const selector = (name: string): { name: string; matchers: Matcher[] } => {
    const matchers: Matcher[] = [];
    if (isPunct('{')) {
      at += 1;
      while (!isPunct('}')) {
        const label = ident();
        const op = peek();
        if (op?.type !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.text)) {
          throw new UnsupportedQueryError(`expected a matcher after ${label}`);
        }
        at += 1;
        const value = peek();
        if (value?.type !== 'string') throw new UnsupportedQueryError(`expected a string after ${label}`);
        at += 1;
        const matcher: Matcher = { label, op: op.text as Matcher['op'], value: value.value };
        if (matcher.op === '=~' || matcher.op === '!~') matcher.regex = new RegExp(`^(?:${value.value})$`);
        matchers.push(matcher);
        if (isPunct(',')) at += 1;
      }
      expect('}');
    }
    return { name, matchers };
  };
  const term = (): Node => {
    const token = peek();
    if (token === undefined) throw new UnsupportedQueryError('unexpected end of query');
    if (token.type === 'number') {
      at += 1;
      return { kind: 'number', value: token.value };
    }
    if (token.type === 'punct' && token.text === '(') {
      at += 1;
      const inner = expression();
      expect(')');
      return inner;
    }
    const name = ident();
    if (AGGREGATES.has(name)) {
      const isBy = (): boolean => {
        const next = peek();
        return next?.type === 'ident' && next.text === 'by';
      };
      let by: string[] = [];
      if (isBy()) {
        at += 1;
        by = labelList();
      }
      expect('(');
      const expr = expression();
      expect(')');
      if (isBy()) {
        at += 1;
        by = labelList();
      }
      return { kind: 'aggregate', op: name as AggregateOp, by, expr };
    }
    if (name === 'rate') {
      expect('(');
      const inner = selector(ident());
      if (peek()?.type !== 'range') throw new UnsupportedQueryError('rate() needs a range');
      at += 1;
      expect(')');
      return { kind: 'rate', selector: inner };
    }
    if (name === 'histogram_quantile') {
      expect('(');
      const q = peek();
      if (q?.type !== 'number') throw new UnsupportedQueryError('histogram_quantile needs a number first');
      at += 1;
      expect(',');
      const expr = expression();
      expect(')');
      return { kind: 'quantile', q: q.value, expr };
    }
    if (isPunct('(')) throw new UnsupportedQueryError(`function ${name}() is not supported`);
    return { kind: 'selector', ...selector(name) };
  };
  const expression = (): Node => {
    let left = term();
    while (isPunct('/') || isPunct('*')) {
      const op = (peek() as { text: '/' | '*' }).text;
      at += 1;
      left = { kind: 'binary', op, left, right: term() };
    }
    return left;
  };
  const tree = expression();
  if (at !== tokens.length) throw new UnsupportedQueryError(`unexpected token ${at + 1}`);
  return tree;
}

function matches(labels: Record<string, string>, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => {
    const value = labels[m.label] ?? '';
    switch (m.op) {
      case '=':
        return value === m.value;
      case '!=':
        return value !== m.value;
      case '=~':
        return m.regex?.test(value) ?? false;
      case '!~':
        return !(m.regex?.test(value) ?? false);
    }
  });
}

/** A key that identifies a label set regardless of label order. */
export function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function select(samples: readonly Sample[], sel: { name: string; matchers: Matcher[] }): VectorElement[] {
  return samples
    .filter((s) => s.name === sel.name && matches(s.labels, sel.matchers))
    .map((s) => ({ labels: s.labels, value: s.value }));
}

function pick(labels: Record<string, string>, keep: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of keep) if (labels[name] !== undefined) out[name] = labels[name];
  return out;
}

function aggregate(op: AggregateOp, by: readonly string[], input: VectorElement[]): VectorElement[] {
  const groups = new Map<string, { labels: Record<string, string>; values: number[] }>();
  for (const element of input) {
    const labels = pick(element.labels, by);
    const key = labelKey(labels);
    const group = groups.get(key) ?? { labels, values: [] };
    group.values.push(element.value);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ labels, values }) => {
    const sum = values.reduce((a, b) => a + b, 0);
    const value =
      op === 'sum'
        ? sum
        : op === 'min'
          ? Math.min(...values)
          : op === 'max'
            ? Math.max(...values)
            : op === 'avg'
              ? sum / values.length
              : values.length;
    return { labels, value };
  });
}

/** Prometheus' histogram_quantile over cumulative `le` buckets, with linear interpolation inside a bucket. */
function quantile(q: number, input: VectorElement[]): VectorElement[] {
  const groups = new Map<
    string,
    { labels: Record<string, string>; buckets: { le: number; count: number }[] }
  >();
  for (const element of input) {
    const { le, ...rest } = element.labels;
    if (le === undefined) continue;
    const key = labelKey(rest);
    const group = groups.get(key) ?? { labels: rest, buckets: [] };
    group.buckets.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: element.value });
    groups.set(key, group);
  }
  return [...groups.values()].map(({ labels, buckets }) => {
    buckets.sort((a, b) => a.le - b.le);
    const total = buckets.at(-1);
    if (total === undefined || total.le !== Number.POSITIVE_INFINITY || total.count <= 0 || q < 0 || q > 1) {
      return { labels, value: Number.NaN };
    }
    const rank = q * total.count;
    let lowerBound = 0;
    let lowerCount = 0;
    for (const [index, bucket] of buckets.entries()) {
      if (bucket.count >= rank) {
        // The top bucket has no upper bound: answer the highest finite one, as Prometheus does.
        if (bucket.le === Number.POSITIVE_INFINITY) return { labels, value: buckets[index - 1]?.le ?? 0 };
        if (bucket.count === lowerCount) return { labels, value: bucket.le };
        const value =
          lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / (bucket.count - lowerCount);
        return { labels, value };
      }
      lowerBound = bucket.le;
      lowerCount = bucket.count;
    }
    return { labels, value: Number.NaN };
  });
}

function binary(op: '/' | '*', left: number | VectorElement[], right: number | VectorElement[]) {
  const apply = (a: number, b: number): number => (op === '/' ? a / b : a * b);
  if (typeof left === 'number' && typeof right === 'number') return apply(left, right);
  if (typeof left === 'number')
    return (right as VectorElement[]).map((e) => ({ ...e, value: apply(left, e.value) }));
  if (typeof right === 'number') return left.map((e) => ({ ...e, value: apply(e.value, right) }));
  // One-to-one matching on identical label sets.
  const byKey = new Map(right.map((e) => [labelKey(e.labels), e.value]));
  return left.flatMap((e) => {
    const other = byKey.get(labelKey(e.labels));
    return other === undefined ? [] : [{ labels: e.labels, value: apply(e.value, other) }];
  });
}

function evaluateNode(node: Node, input: EvalInput): number | VectorElement[] {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'selector':
      return select(input.current, node);
    case 'rate': {
      if (input.previous === undefined || input.seconds <= 0) return [];
      const before = new Map(select(input.previous, node.selector).map((e) => [labelKey(e.labels), e.value]));
      // A counter missing from a target's previous scrape was born since (prom-client writes a labelled series
      // from its first increment), so it stood at 0; one of a target that was not scraped then is unknown.
      const scrapedBefore = new Set(input.previous.map((s) => s.labels.job));
      return select(input.current, node.selector).flatMap((e) => {
        const old = before.get(labelKey(e.labels)) ?? (scrapedBefore.has(e.labels.job) ? 0 : undefined);
        if (old === undefined) return [];
        const increase = e.value >= old ? e.value - old : e.value;
        return [{ labels: e.labels, value: increase / input.seconds }];
      });
    }
    case 'aggregate':
      return aggregate(node.op, node.by, asVector(evaluateNode(node.expr, input)));
    case 'quantile':
      return quantile(node.q, asVector(evaluateNode(node.expr, input)));
    case 'binary':
      return binary(node.op, evaluateNode(node.left, input), evaluateNode(node.right, input));
  }
}

function asVector(value: number | VectorElement[]): VectorElement[] {
  if (typeof value === 'number') throw new UnsupportedQueryError('a vector was expected, not a number');
  return value;
}

/** Evaluates `query` over the scrapes; a number result is a one-element vector without labels. */
export function evaluateQuery(query: string, input: EvalInput): VectorElement[] {
  const result = evaluateNode(parseQuery(query), input);
  return typeof result === 'number' ? [{ labels: {}, value: result }] : result;
}
