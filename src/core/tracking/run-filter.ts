import { UsageError } from '../errors.js';

/**
 * The `runs list --filter` language, parsed into data:
 *
 *   expr       := or
 *   or         := and (OR and)*
 *   and        := primary (AND primary)*
 *   primary    := '(' expr ')' | comparison
 *   comparison := field op value
 *   field      := metrics.<key> | params.<key> | tags.<key> | [attributes.]<attribute>
 *   op         := = | == | != | <> | < | <= | > | >= | LIKE | ILIKE | NOT LIKE
 *   value      := number | 'string' | "string"
 *
 * Keys may be quoted (`tags."my key"`, tags.`my key`). Keywords are case-insensitive.
 * Errors are UsageErrors that point at the offending position with a caret.
 */
export type FieldKind = 'metric' | 'param' | 'tag' | 'attribute';

export const ATTRIBUTES = [
  'id', 'name', 'experiment', 'status', 'start_time', 'end_time', 'duration', 'user', 'host', 'dataset', 'backend', 'task',
] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

/** Attribute spellings accepted besides the canonical ones (MLflow's, mostly). */
const ATTRIBUTE_ALIASES: Readonly<Record<string, Attribute>> = {
  run_id: 'id',
  run_name: 'name',
  created: 'start_time',
  start: 'start_time',
  end: 'end_time',
  dataset_sha256: 'dataset',
};

export type Field =
  | { readonly kind: 'metric' | 'param' | 'tag'; readonly key: string }
  | { readonly kind: 'attribute'; readonly name: Attribute };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'NOT LIKE';

export type FilterExpression =
  | { readonly kind: 'and' | 'or'; readonly left: FilterExpression; readonly right: FilterExpression }
  | {
      readonly kind: 'comparison';
      readonly field: Field;
      readonly op: ComparisonOperator;
      readonly value: string | number;
      /** 0-based offsets into the source, for error messages. */
      readonly fieldPosition: number;
      readonly valuePosition: number;
    };

export interface OrderTerm {
  readonly field: Field;
  readonly descending: boolean;
}

type TokenKind = 'ident' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'dot' | 'comma' | 'end';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** For strings: the unquoted value. */
  readonly value: string;
  readonly position: number;
}

/** A UsageError whose problems show the expression with a caret under `position`. */
export function expressionError(code: string, what: string, source: string, position: number, message: string, hint?: string): UsageError {
  const column = Math.max(0, Math.min(position, source.length));
  return new UsageError(code, `invalid ${what} at position ${column + 1}: ${message}`, {
    problems: [source, `${' '.repeat(column)}^`],
    ...(hint === undefined ? {} : { hint }),
  });
}

function tokenize(source: string, what: string, code: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (position: number, message: string): never => {
    throw expressionError(code, what, source, position, message);
  };
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const start = i;
    if (c === '(' || c === ')' || c === '.' || c === ',') {
      tokens.push({ kind: c === '(' ? 'lparen' : c === ')' ? 'rparen' : c === '.' ? 'dot' : 'comma', text: c, value: c, position: start });
      i += 1;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= source.length) fail(start, `unterminated ${c === '`' ? 'backtick' : 'string'} (no closing ${c})`);
        const d = source[i]!;
        if (d === c) {
          // A doubled quote inside a string stands for the quote itself, as in SQL.
          if (source[i + 1] === c) {
            value += c;
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        if (d === '\\' && i + 1 < source.length) {
          value += source[i + 1];
          i += 2;
          continue;
        }
        value += d;
        i += 1;
      }
      // Backticks and double quotes quote keys after a dot; elsewhere a double-quoted token is a string.
      tokens.push({ kind: c === '`' ? 'ident' : 'string', text: source.slice(start, i), value, position: start });
      continue;
    }
    const two = source.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>' || two === '==') {
      tokens.push({ kind: 'op', text: two, value: two === '<>' ? '!=' : two === '==' ? '=' : two, position: start });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c, value: c, position: start });
      i += 1;
      continue;
    }
    const number = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/.exec(source.slice(i));
    if (number !== null && (c !== '.' || tokens.at(-1)?.kind !== 'ident')) {
      // A number must not run into letters ("0.8x").
      const after = source[i + number[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after)) fail(i + number[0].length, `unexpected "${after}" after the number ${number[0]}`);
      tokens.push({ kind: 'number', text: number[0], value: number[0], position: start });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i));
    if (ident !== null) {
      tokens.push({ kind: 'ident', text: ident[0], value: ident[0], position: start });
      i += ident[0].length;
      continue;
    }
    fail(start, `unexpected character "${c}"`);
  }
  tokens.push({ kind: 'end', text: '', value: '', position: source.length });
  return tokens;
}

class Parser {
  private index = 0;
  constructor(
    private readonly source: string,
    private readonly tokens: readonly Token[],
    private readonly what: string,
    private readonly code: string,
  ) {}

  peek(): Token {
    return this.tokens[this.index]!;
  }

  next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'end') this.index += 1;
    return token;
  }

  isKeyword(token: Token, word: string): boolean {
    return token.kind === 'ident' && token.text.toUpperCase() === word && !token.text.startsWith('`');
  }

  fail(position: number, message: string, hint?: string): never {
    throw expressionError(this.code, this.what, this.source, position, message, hint);
  }

  describe(token: Token): string {
    return token.kind === 'end' ? 'the end of the expression' : `"${token.text}"`;
  }

  parseOr(): FilterExpression {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), 'OR')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  parseAnd(): FilterExpression {
    let left = this.parsePrimary();
    while (this.isKeyword(this.peek(), 'AND')) {
      this.next();
      left = { kind: 'and', left, right: this.parsePrimary() };
    }
    return left;
  }

  parsePrimary(): FilterExpression {
    const token = this.peek();
    if (token.kind === 'lparen') {
      this.next();
      const inner = this.parseOr();
      const close = this.next();
      if (close.kind !== 'rparen') this.fail(close.position, `expected ")" to close the "(" at position ${token.position + 1}, found ${this.describe(close)}`);
      return inner;
    }
    return this.parseComparison();
  }

  parseField(): { field: Field; position: number } {
    const token = this.next();
    if (token.kind !== 'ident' || token.text.startsWith('`')) {
      this.fail(token.position, `expected a field (metrics.<key>, params.<key>, tags.<key> or an attribute such as status), found ${this.describe(token)}`);
    }
    const head = token.text.toLowerCase();
    const prefix = ({ metrics: 'metric', metric: 'metric', params: 'param', param: 'param', tags: 'tag', tag: 'tag', attributes: 'attribute', attribute: 'attribute', attr: 'attribute' } as const)[head];
    if (prefix === undefined) {
      return { field: { kind: 'attribute', name: this.attribute(token.text, token.position) }, position: token.position };
    }
    const dot = this.next();
    if (dot.kind !== 'dot') this.fail(dot.position, `expected "." and a key after "${token.text}", found ${this.describe(dot)}`);
    const keyToken = this.next();
    let key: string;
    if (keyToken.kind === 'ident' || keyToken.kind === 'string') {
      key = keyToken.value;
      // Keys may contain dots (metrics.val.auc): glue "ident . ident" sequences back together.
      if (keyToken.kind === 'ident' && !keyToken.text.startsWith('`')) {
        while (this.peek().kind === 'dot' && this.tokens[this.index + 1]?.kind === 'ident' && this.peek().position === this.tokens[this.index - 1]!.position + this.tokens[this.index - 1]!.text.length) {
          this.next();
          key += `.${this.next().value}`;
        }
      }
    } else if (keyToken.kind === 'number' && /^\d+$/.test(keyToken.text)) {
      key = keyToken.text;
    } else {
      this.fail(keyToken.position, `expected a key after "${token.text}.", found ${this.describe(keyToken)}`);
    }
    if (key === '') this.fail(keyToken.position, 'the key is empty');
    if (prefix === 'attribute') return { field: { kind: 'attribute', name: this.attribute(key, keyToken.position) }, position: token.position };
    return { field: { kind: prefix, key }, position: token.position };
  }

  attribute(name: string, position: number): Attribute {
    const lower = name.toLowerCase();
    const canonical = (ATTRIBUTES as readonly string[]).includes(lower) ? (lower as Attribute) : ATTRIBUTE_ALIASES[lower];
    if (canonical === undefined) {
      this.fail(position, `unknown field "${name}"`, `fields are metrics.<key>, params.<key>, tags.<key> and the attributes ${ATTRIBUTES.join(', ')}`);
    }
    return canonical;
  }

  parseComparison(): FilterExpression {
    const { field, position } = this.parseField();
    const opToken = this.next();
    let op: ComparisonOperator;
    if (opToken.kind === 'op') op = opToken.value as ComparisonOperator;
    else if (this.isKeyword(opToken, 'LIKE')) op = 'LIKE';
    else if (this.isKeyword(opToken, 'ILIKE')) op = 'ILIKE';
    else if (this.isKeyword(opToken, 'NOT') && this.isKeyword(this.peek(), 'LIKE')) {
      this.next();
      op = 'NOT LIKE';
    } else {
      this.fail(opToken.position, `expected a comparison (= != < <= > >= LIKE ILIKE) after the field, found ${this.describe(opToken)}`);
    }
    const valueToken = this.next();
    let value: string | number;
    if (valueToken.kind === 'number') value = Number(valueToken.text);
    else if (valueToken.kind === 'string') value = valueToken.value;
    else if (valueToken.kind === 'ident' && !valueToken.text.startsWith('`')) {
      this.fail(valueToken.position, `expected a number or a quoted string, found ${this.describe(valueToken)}`, `quote text values: ${valueToken.text} → '${valueToken.text}'`);
    } else this.fail(valueToken.position, `expected a number or a quoted string, found ${this.describe(valueToken)}`);
    if ((op === 'LIKE' || op === 'ILIKE' || op === 'NOT LIKE') && typeof value !== 'string') {
      this.fail(valueToken.position, `${op} needs a quoted pattern such as '%adam%'`);
    }
    if (field.kind === 'metric' && typeof value === 'string') {
      this.fail(valueToken.position, `metrics are numbers; compare metrics.${field.key} with a number`);
    }
    return { kind: 'comparison', field, op, value, fieldPosition: position, valuePosition: valueToken.position };
  }
}

/** Parses a filter expression; an empty string means "no filter" (undefined). */
export function parseRunFilter(source: string): FilterExpression | undefined {
  if (source.trim() === '') return undefined;
  const code = 'INVALID_RUN_FILTER';
  const parser = new Parser(source, tokenize(source, 'filter', code), 'filter', code);
  const expression = parser.parseOr();
  const rest = parser.peek();
  if (rest.kind !== 'end') {
    parser.fail(rest.position, `expected AND, OR or the end of the filter, found ${parser.describe(rest)}`, rest.kind === 'rparen' ? 'this ")" has no matching "("' : undefined);
  }
  return expression;
}

/** Parses `--order-by "metrics.auc desc, start_time"`. */
export function parseOrderBy(source: string): OrderTerm[] {
  const code = 'INVALID_ORDER_BY';
  const parser = new Parser(source, tokenize(source, 'order-by', code), 'order-by', code);
  const terms: OrderTerm[] = [];
  if (parser.peek().kind === 'end') parser.fail(0, 'expected a field such as "metrics.auc desc"');
  for (;;) {
    const { field } = parser.parseField();
    let descending = false;
    const next = parser.peek();
    if (parser.isKeyword(next, 'DESC')) {
      descending = true;
      parser.next();
    } else if (parser.isKeyword(next, 'ASC')) parser.next();
    terms.push({ field, descending });
    const separator = parser.next();
    if (separator.kind === 'end') break;
    if (separator.kind !== 'comma') parser.fail(separator.position, `expected ASC, DESC, "," or the end, found ${parser.describe(separator)}`);
  }
  return terms;
}
