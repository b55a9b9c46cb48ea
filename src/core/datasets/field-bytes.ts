/**
 * Reading CSV fields where they lie, as UTF-8 bytes (`csv-stream.ts` hands them over so), with
 * no string made per field: a number, a missing marker, a category's code in a dictionary.
 * Each gives exactly what the string it stands for would give (`Number(text)`, `markers.has(text)`,
 * a Map keyed by the text); test/unit/datasets/field-bytes.test.ts checks them against those.
 */

const DOT = 46;
const MINUS = 45;
const PLUS = 43;
const ZERO = 48;

/** 10^k for k ≤ 22: exact in double precision. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The number a field spells, as `Number(text)` reads it (hex, exponents and the rest included),
 * or null when it is empty or not a finite number. Plain decimals with at most 15 digits are
 * read from the bytes: an integer mantissa below 2^53 divided by an exact power of ten is
 * rounded once, so it is the double `Number` returns; anything else goes through `Number`.
 */
export function parseNumberBytes(bytes: Uint8Array, start: number, end: number): number | null {
  if (start === end) return null;
  let i = start;
  let negative = false;
  const first = bytes[i]!;
  if (first === MINUS || first === PLUS) {
    negative = first === MINUS;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let sawDot = false;
  for (; i < end; i++) {
    const b = bytes[i]!;
    const d = b - ZERO;
    if (d >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      digits++;
      if (sawDot) scale++;
    } else if (b === DOT && !sawDot) {
      sawDot = true;
    } else {
      return slowNumber(bytes, start, end);
    }
  }
  if (digits === 0 || digits > 15) return slowNumber(bytes, start, end);
  const value = scale === 0 ? mantissa : mantissa / POWERS_OF_TEN[scale]!;
  return negative ? -value : value;
}

const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/** The text of a field (a BOM inside it is kept, as the string reader keeps it). */
export function decodeField(bytes: Uint8Array, start: number, end: number): string {
  return DECODER.decode(bytes.subarray(start, end));
}

function slowNumber(bytes: Uint8Array, start: number, end: number): number | null {
  const n = Number(decodeField(bytes, start, end));
  return Number.isFinite(n) ? n : null;
}

/** Whether a field is one of a set of texts (the missing markers), compared as bytes. */
export interface ByteTextSet {
  /** Fields longer than this are none of the texts (a check callers make inline). */
  readonly longest: number;
  has(bytes: Uint8Array, start: number, end: number): boolean;
}

export function createByteTextSet(texts: Iterable<string>): ByteTextSet {
  const encoder = new TextEncoder();
  const byLength = new Map<number, Uint8Array[]>();
  for (const text of new Set(texts)) {
    const encoded = encoder.encode(text);
    const list = byLength.get(encoded.length) ?? [];
    list.push(encoded);
    byLength.set(encoded.length, list);
  }
  const longest = Math.max(-1, ...byLength.keys());
  const lists: (Uint8Array[] | undefined)[] = Array.from({ length: longest + 1 }, (_, n) => byLength.get(n));
  return {
    longest,
    has(bytes, start, end) {
      const length = end - start;
      if (length > longest) return false;
      const candidates = lists[length];
      if (candidates === undefined) return false;
      for (const candidate of candidates) {
        let same = true;
        for (let k = 0; k < length; k++) {
          if (candidate[k] !== bytes[start + k]) {
            same = false;
            break;
          }
        }
        if (same) return true;
      }
      return false;
    },
  };
}

/**
 * Distinct byte strings, each given a code 0, 1, 2… in order of first appearance: the
 * dictionary of a categorical column. An open-addressing hash table over FNV-1a hashes,
 * keys kept in one growing byte arena; the text of a code is decoded once, on first ask.
 */
export class ByteDictionary {
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  private keyStart: Int32Array;
  private keyEnd: Int32Array;
  private arena: Uint8Array;
  private arenaUsed = 0;
  private texts: (string | undefined)[] = [];
  /** Codes given so far. */
  size = 0;
  /** The hash of the last key looked up (for distinct-count sketches). */
  lastHash = 0;

  constructor(capacity = 64) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.slots = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
    this.hashes = new Int32Array(capacity);
    this.keyStart = new Int32Array(capacity);
    this.keyEnd = new Int32Array(capacity);
    this.arena = new Uint8Array(capacity * 16);
  }

  /** The code of `bytes[start, end)`, added when new. */
  code(bytes: Uint8Array, start: number, end: number): number {
    const found = this.lookup(bytes, start, end);
    return found >= 0 ? found : this.add(bytes, start, end, this.lastHash, ~found);
  }

  /** The code of `bytes[start, end)`, or -1 when it has none (nothing is added). */
  find(bytes: Uint8Array, start: number, end: number): number {
    const found = this.lookup(bytes, start, end);
    return found >= 0 ? found : -1;
  }

  /** Hashes the bytes (into `lastHash`) and probes: their code, or ~slot of the free slot where they would go. */
  private lookup(bytes: Uint8Array, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    this.lastHash = hash;
    const length = end - start;
    let slot = hash & this.mask;
    for (;;) {
      const code = this.slots[slot]!;
      if (code === -1) return ~slot;
      if (this.hashes[code] === hash && this.keyEnd[code]! - this.keyStart[code]! === length && this.sameKey(code, bytes, start, length)) return code;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The text of a code. */
  text(code: number): string {
    let text = this.texts[code];
    if (text === undefined) {
      text = DECODER.decode(this.arena.subarray(this.keyStart[code], this.keyEnd[code]));
      this.texts[code] = text;
    }
    return text;
  }

  /** The hash of a code's bytes (as `lastHash` was when it was added). */
  hashOf(code: number): number {
    return this.hashes[code]!;
  }

  /** Every text, by code. */
  allTexts(): string[] {
    return Array.from({ length: this.size }, (_, code) => this.text(code));
  }

  private sameKey(code: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    const at = this.keyStart[code]!;
    for (let k = 0; k < length; k++) if (arena[at + k] !== bytes[start + k]) return false;
    return true;
  }

  private add(bytes: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const code = this.size++;
    if (code === this.hashes.length) {
      const capacity = code * 2;
      this.hashes = grow(this.hashes, capacity);
      this.keyStart = grow(this.keyStart, capacity);
      this.keyEnd = grow(this.keyEnd, capacity);
    }
    const length = end - start;
    if (this.arenaUsed + length > this.arena.length) {
      const arena = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + length));
      arena.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = arena;
    }
    this.arena.set(bytes.subarray(start, end), this.arenaUsed);
    this.hashes[code] = hash;
    this.keyStart[code] = this.arenaUsed;
    this.keyEnd[code] = this.arenaUsed + length;
    this.arenaUsed += length;
    this.slots[slot] = code;
    if (this.size * 2 > this.slots.length) this.rehash();
    return code;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let code = 0; code < this.size; code++) {
      let slot = this.hashes[code]! & mask;
      while (slots[slot] !== -1) slot = (slot + 1) & mask;
      slots[slot] = code;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function grow(array: Int32Array, capacity: number): Int32Array {
  const grown = new Int32Array(capacity);
  grown.set(array);
  return grown;
}
