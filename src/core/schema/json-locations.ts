/**
 * Where each value of a JSON document sits: JSON pointer → 1-based line, so a problem found
 * in the parsed value can say "line 7". For an object member the line is the key's.
 * Expects text that JSON.parse accepted.
 */
import { pointerSegment } from './json-schema-validator.js';

export function jsonPointerLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const skipSpace = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) break;
      i++;
    }
  };
  const readString = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (pointer: string): void => {
    skipSpace();
    if (!lines.has(pointer)) lines.set(pointer, line);
    const c = text[i];
    if (c === '{') {
      i++;
      skipSpace();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        const keyLine = line;
        const key = readString();
        const member = `${pointer}/${pointerSegment(key)}`;
        lines.set(member, keyLine);
        skipSpace();
        i++; // colon
        value(member);
        skipSpace();
        if (text[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let index = 0; ; index++) {
        value(`${pointer}/${index}`);
        skipSpace();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') {
      readString();
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  value('');
  return lines;
}

/** The line of `pointer`, or of its nearest enclosing value that has one. */
export function lineOfPointer(lines: ReadonlyMap<string, number>, pointer: string): number | undefined {
  let at = pointer;
  for (;;) {
    const line = lines.get(at);
    if (line !== undefined) return line;
    if (at === '') return undefined;
    at = at.slice(0, at.lastIndexOf('/'));
  }
}
