import { describe, expect, it } from 'vitest';
import { ByteDictionary, createByteTextSet, parseNumberBytes } from '../../../src/core/datasets/field-bytes.js';
import { createRng } from '../../../src/core/random.js';

const encoder = new TextEncoder();

/** What the string reader does with a field: null when empty or not a finite number. */
function stringNumber(text: string): number | null {
  if (text === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

function bytesNumber(text: string): number | null {
  // Surrounded by other bytes, as fields are in a chunk.
  const bytes = encoder.encode(`x,${text},y`);
  return parseNumberBytes(bytes, 2, bytes.length - 2);
}

describe('parseNumberBytes', () => {
  it('reads every spelling exactly as Number reads it, negative zero included', () => {
    const rng = createRng(3);
    const alphabet = ['0', '1', '2', '5', '9', '.', '-', '+', 'e', 'E', 'x', ' ', 'a', 'I'];
    const fixed = ['', '0', '-0', '-0.0', '.5', '5.', '.', '-', '+7', '007', '1e3', '0x1F', '0b11', 'Infinity', '-Infinity', 'NaN', ' 12', '12 ', '1_000', '9007199254740993', '123456789012345', '1234567890123456', '0.1', '0.30000000000000004', '3.14159265358979', '1.7976931348623157e308', '1e309', '2.2250738585072014e-308', '4.9e-324', '99999999999999.9', '0.000000000000000000000001'];
    const texts = [...fixed];
    for (let n = 0; n < 20_000; n++) {
      let text = '';
      const length = 1 + Math.floor(rng() * 18);
      for (let i = 0; i < length; i++) text += rng() < 0.85 ? String(Math.floor(rng() * 10)) : alphabet[Math.floor(rng() * alphabet.length)]!;
      texts.push(text, (rng() * 10 ** Math.floor(rng() * 12)).toFixed(Math.floor(rng() * 8)));
    }
    for (const text of texts) expect(Object.is(bytesNumber(text), stringNumber(text)), JSON.stringify(text)).toBe(true);
  });
});

describe('createByteTextSet', () => {
  it('matches exactly the texts it was given, non-ASCII ones too', () => {
    const markers = createByteTextSet(['', 'NA', '?', 'ñ/a']);
    const has = (text: string) => {
      const bytes = encoder.encode(`[${text}]`);
      return markers.has(bytes, 1, bytes.length - 1);
    };
    expect(['', 'NA', '?', 'ñ/a'].map(has)).toEqual([true, true, true, true]);
    expect(['na', 'NAN', ' ', 'n/a', '??'].map(has)).toEqual([false, false, false, false, false]);
  });
});

describe('ByteDictionary', () => {
  it('gives one code per distinct text, in order of first appearance, across growth', () => {
    const dictionary = new ByteDictionary(2);
    const rng = createRng(9);
    const reference = new Map<string, number>();
    for (let n = 0; n < 50_000; n++) {
      const text = `v${Math.floor(rng() * 3_000)}${rng() < 0.1 ? 'é' : ''}`;
      const bytes = encoder.encode(` ${text} `);
      const code = dictionary.code(bytes, 1, bytes.length - 1);
      if (!reference.has(text)) reference.set(text, reference.size);
      expect(code).toBe(reference.get(text));
    }
    expect(dictionary.size).toBe(reference.size);
    expect(dictionary.allTexts()).toEqual([...reference.keys()]);
    const absent = encoder.encode('nope');
    expect(dictionary.find(absent, 0, absent.length)).toBe(-1);
    expect(dictionary.size).toBe(reference.size);
  });
});
