/**
 * numpy's legacy `RandomState` (MT19937) as far as scikit-learn's `train_test_split` uses it,
 * so a split made by the Python stacks mlctl replaces can be reproduced row for row.
 */
export class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private index = 625;

  /** `np.random.RandomState(seed)` for an integer seed: MT19937's init_genrand. */
  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = (this.mt[i - 1] as number) ^ ((this.mt[i - 1] as number) >>> 30);
      // 1812433253 * prev + i, in 32-bit arithmetic.
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = 624;
  }

  nextUint32(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = ((mt[i] as number) & 0x80000000) | ((mt[(i + 1) % 624] as number) & 0x7fffffff);
      let next = (mt[(i + 397) % 624] as number) ^ (y >>> 1);
      if (y & 1) next ^= 0x9908b0df;
      mt[i] = next >>> 0;
    }
    this.index = 0;
  }

  /** numpy's `random_interval(max)`: a uniform integer in [0, max] by masked rejection. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /** `RandomState.permutation(n)`: a Fisher–Yates shuffle of 0..n-1 from the end. */
  permutation(n: number): Uint32Array {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = out[i] as number;
      out[i] = out[j] as number;
      out[j] = t;
    }
    return out;
  }
}

/**
 * The rows scikit-learn's `train_test_split(X, test_size=fraction, random_state=seed)`
 * (ShuffleSplit underneath) puts in the test and training sets, in its order.
 */
export function sklearnTrainTestSplit(rowCount: number, testFraction: number, seed: number): { train: Uint32Array; holdout: Uint32Array } {
  const nTest = Math.ceil(testFraction * rowCount);
  const nTrain = rowCount - nTest;
  const permutation = new Mt19937(seed).permutation(rowCount);
  return { holdout: permutation.slice(0, nTest), train: permutation.slice(nTest, nTest + nTrain) };
}
