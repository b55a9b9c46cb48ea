/**
 * Request bodies as JSON, read the way MLflow's scoring server reads them (Python's
 * `json`): the literals `NaN`, `Infinity` and `-Infinity` are numbers, so a pandas frame
 * with a missing value (which MLflow's client sends as `NaN`) is accepted. Nesting is
 * limited, so a hostile body (`[[[[…]]]]`) is refused with 400 before anything walks it.
 *
 * The common body is plain JSON: one scan finds its depth and whether it holds a
 * non-standard literal, and V8's JSON.parse reads it. Only bodies with NaN or Infinity go
 * through the small parser below.
 */
import { HttpError } from './http-error.js';

/** Deeper than any payload the daemon accepts (`{"dataframe_split": {"data": [[…]]}}` is 4). */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;
const QUOTE = 34;
const BACKSLASH = 92;
const CAPITAL_N = 78;
const CAPITAL_I = 73;

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
  let depth = 0;
  let extended = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string; a backslash escapes the next character.
      for (i++; i < length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) throw tooDeep();
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === CAPITAL_N || c === CAPITAL_I) {
      extended = true;
    }
  }
  if (!extended) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw malformed((error as Error).message);
    }
  }
  return new ExtendedJsonParser(text).document();
}

/** Recursive descent over JSON with Python's three extra number literals; depth is already bounded. */
class ExtendedJsonParser {
  private at = 0;

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
    this.at++;
    const items: unknown[] = [];
    this.space();
    if (this.text.charAt(this.at) === ']') {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.value());
      this.space();
      const c = this.text.charAt(this.at++);
      if (c === ']') return items;
      if (c !== ',') {
        this.at--;
        this.fail('expected "," or "]"');
      }
    }
  }

  private object(): Record<string, unknown> {
    this.at++;
    const result: Record<string, unknown> = {};
    this.space();
    if (this.text.charAt(this.at) === '}') {
      this.at++;
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
      if (c === '}') return result;
      if (c !== ',') {
        this.at--;
        this.fail('expected "," or "}"');
      }
    }
  }
}
