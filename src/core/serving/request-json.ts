/**
 * Request bodies as JSON, read the way MLflow's scoring server reads them (Python's
 * `json`): the literals `NaN`, `Infinity` and `-Infinity` are numbers, so a pandas frame
 * with a missing value (which MLflow's client sends as `NaN`) is accepted. Nesting is
 * limited, so a hostile body (`[[[[…]]]]`) is refused with 400 before anything walks it.
 *
 * The common body is plain JSON, read by V8's JSON.parse and then checked for depth; only
 * bodies JSON.parse refuses (NaN or Infinity, or malformed ones) go through the small
 * parser below, which refuses deep nesting as it goes.
 */
import { HttpError } from './http-error.js';

/** Deeper than any payload the daemon accepts (`{"dataframe_split": {"data": [[…]]}}` is 4). */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 34;
const BACKSLASH = 92;

function tooDeep(): HttpError {
  return new HttpError(400, 'BODY_TOO_DEEP', `the request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels; send records of plain values`);
}

function malformed(detail: string): HttpError {
  return new HttpError(400, 'BODY_MALFORMED_JSON', `the request body is not valid JSON: ${detail}`);
}

/**
 * Parses a request body: JSON plus `NaN`, `Infinity` and `-Infinity`, at most
 * MAX_JSON_DEPTH levels deep. Throws HttpError 400 BODY_MALFORMED_JSON or BODY_TOO_DEEP.
 */
export function parseRequestJson(text: string): unknown {
  let value: unknown;
  try {
    // V8's parser is iterative: a deep document costs memory (bounded by the body limit), not stack.
    value = JSON.parse(text) as unknown;
  } catch {
    // Not plain JSON: Python's literals, or malformed. The small parser says which, and where.
    return new ExtendedJsonParser(text).document();
  }
  if (typeof value === 'object' && value !== null && tooDeepValue(value, 1)) throw tooDeep();
  return value;
}

/** Walks at most MAX_JSON_DEPTH levels of a parsed document (a flat record costs one pass over its values). */
function tooDeepValue(value: object, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && tooDeepValue(item, depth + 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null && tooDeepValue(item, depth + 1)) return true;
  }
  return false;
}

/** Recursive descent over JSON with Python's three extra number literals, refusing nesting past MAX_JSON_DEPTH. */
class ExtendedJsonParser {
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  document(): unknown {
    const value = this.value();
    this.space();
    if (this.at < this.text.length) this.fail('unexpected text after the document');
    return value;
  }

  private fail(what: string): never {
    throw malformed(`${what} at position ${this.at}`);
  }

  private space(): void {
    const text = this.text;
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.at++;
      else break;
    }
  }

  private literal(word: string, value: unknown): unknown {
    if (!this.text.startsWith(word, this.at)) this.fail(`unexpected token ${JSON.stringify(this.text.charAt(this.at))}`);
    this.at += word.length;
    return value;
  }

  private value(): unknown {
    this.space();
    const c = this.text.charAt(this.at);
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case 'N':
        return this.literal('NaN', Number.NaN);
      case 'I':
        return this.literal('Infinity', Number.POSITIVE_INFINITY);
      case '':
        return this.fail('unexpected end of the body');
      default:
        if (c === '-' && this.text.startsWith('-Infinity', this.at)) return this.literal('-Infinity', Number.NEGATIVE_INFINITY);
        return this.number();
    }
  }

  private number(): number {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = this.at;
    const found = match.exec(this.text);
    if (found === null) this.fail(`unexpected token ${JSON.stringify(this.text.charAt(this.at))}`);
    this.at += found[0].length;
    return Number(found[0]);
  }

  private string(): string {
    const text = this.text;
    let end = this.at + 1;
    for (; end < text.length; end++) {
      const c = text.charCodeAt(end);
      if (c === BACKSLASH) end++;
      else if (c === QUOTE) break;
    }
    if (end >= text.length) this.fail('unterminated string');
    const token = text.slice(this.at, end + 1);
    this.at = end + 1;
    try {
      return JSON.parse(token) as string;
    } catch {
      return this.fail('invalid string');
    }
  }

  private array(): unknown[] {
    if (++this.depth > MAX_JSON_DEPTH) throw tooDeep();
    this.at++;
    const items: unknown[] = [];
    this.space();
    if (this.text.charAt(this.at) === ']') {
      this.at++;
      this.depth--;
      return items;
    }
    for (;;) {
      items.push(this.value());
      this.space();
      const c = this.text.charAt(this.at++);
      if (c === ']') {
        this.depth--;
        return items;
      }
      if (c !== ',') {
        this.at--;
        this.fail('expected "," or "]"');
      }
    }
  }

  private object(): Record<string, unknown> {
    if (++this.depth > MAX_JSON_DEPTH) throw tooDeep();
    this.at++;
    const result: Record<string, unknown> = {};
    this.space();
    if (this.text.charAt(this.at) === '}') {
      this.at++;
      this.depth--;
      return result;
    }
    for (;;) {
      this.space();
      if (this.text.charAt(this.at) !== '"') this.fail('expected a property name');
      const key = this.string();
      this.space();
      if (this.text.charAt(this.at++) !== ':') {
        this.at--;
        this.fail('expected ":"');
      }
      // defineProperty: a "__proto__" key is data, as JSON.parse makes it.
      Object.defineProperty(result, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.space();
      const c = this.text.charAt(this.at++);
      if (c === '}') {
        this.depth--;
        return result;
      }
      if (c !== ',') {
        this.at--;
        this.fail('expected "," or "}"');
      }
    }
  }
}
