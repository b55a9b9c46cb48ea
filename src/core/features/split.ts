import { UsageError } from '../errors.js';
import { createRng, shuffleInPlace } from '../random.js';

/** Row indices of the two sides of a split, each sorted ascending (shuffle for training yourself). */
export interface SplitIndices {
  train: Uint32Array;
  holdout: Uint32Array;
}

/**
 * Stratified by label (0/1 or class ids): each class is split in the same proportion, so
 * the holdout's class ratio matches the whole within one row per class. The holdout holds
 * round(rows × fraction) rows in total, apportioned to classes by largest remainder.
 * Seeded and deterministic: the same labels, fraction and seed give the same split.
 */
export function stratifiedSplit(labels: ArrayLike<number>, holdoutFraction: number, seed: number): SplitIndices {
  checkFraction(holdoutFraction);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isFinite(label)) {
      throw new UsageError('SPLIT_LABEL_INVALID', `Cannot stratify: label of row ${i} is ${String(label)}, not a class id.`, {
        hint: 'Encode the target as 0/1 (or integer class ids) before splitting.',
      });
    }
    let members = byClass.get(label);
    if (members === undefined) {
      members = [];
      byClass.set(label, members);
    }
    members.push(i);
  }
  // Classes in ascending label order so the rng stream is consumed the same way every time.
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const exact = classes.map((label) => byClass.get(label)!.length * holdoutFraction);
  const counts = exact.map(Math.floor);
  let remaining = Math.round(labels.length * holdoutFraction) - counts.reduce((sum, c) => sum + c, 0);
  const byRemainder = classes
    .map((_, k) => k)
    .sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!) || a - b);
  for (const k of byRemainder) {
    if (remaining <= 0) break;
    counts[k]! += 1;
    remaining -= 1;
  }

  const rng = createRng(seed);
  const holdout: number[] = [];
  const train: number[] = [];
  classes.forEach((label, k) => {
    const members = byClass.get(label)!;
    shuffleInPlace(members, rng);
    const take = counts[k]!;
    for (let i = 0; i < members.length; i++) (i < take ? holdout : train).push(members[i]!);
  });
  return { train: sortedIndices(train), holdout: sortedIndices(holdout) };
}

/** A plain seeded split: round(rowCount × fraction) random rows held out. */
export function randomSplit(rowCount: number, holdoutFraction: number, seed: number): SplitIndices {
  checkFraction(holdoutFraction);
  if (!Number.isInteger(rowCount) || rowCount < 0) {
    throw new UsageError('SPLIT_ROWS_INVALID', `Cannot split ${String(rowCount)} rows: expected a non-negative integer.`);
  }
  const order = new Uint32Array(rowCount);
  for (let i = 0; i < rowCount; i++) order[i] = i;
  shuffleInPlace(order, createRng(seed));
  const take = Math.round(rowCount * holdoutFraction);
  return { holdout: order.slice(0, take).sort(), train: order.slice(take).sort() };
}

function checkFraction(fraction: number): void {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) {
    throw new UsageError('SPLIT_FRACTION_INVALID', `Holdout fraction ${String(fraction)} is out of range.`, {
      hint: 'Use a fraction in [0, 1), for example 0.1 for a 10% validation set.',
    });
  }
}

function sortedIndices(indices: number[]): Uint32Array {
  return Uint32Array.from(indices).sort();
}

/** `size` distinct positions of [0, rowCount), seeded, ascending; every position when `size` ≥ rowCount. */
export function seededSample(rowCount: number, size: number, seed: number): Uint32Array {
  const order = new Uint32Array(rowCount);
  for (let i = 0; i < rowCount; i++) order[i] = i;
  if (size >= rowCount) return order;
  shuffleInPlace(order, createRng(seed));
  return order.slice(0, size).sort();
}
