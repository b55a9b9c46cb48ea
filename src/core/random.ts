/**
 * Seeded randomness for everything that must be reproducible from a `--seed`: splits,
 * shuffles, weight initialisation. Never use Math.random in core code that a seed governs.
 */

/**
 * A mulberry32 generator: fast, 32 bits of state, uniform in [0, 1). The seed is taken as
 * a 32-bit integer (fractions are truncated, negatives wrap), so seeds 1 and 2 give
 * unrelated streams while the same seed always gives the same stream.
 */
export function createRng(seed: number): () => number {
  let state = Math.trunc(Number.isFinite(seed) ? seed : 0) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Fisher–Yates shuffle driven by `rng`: every permutation equally likely, deterministic per seed. */
export function shuffleInPlace<T>(items: T[] | Uint32Array, rng: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const held = items[i]!;
    items[i] = items[j]!;
    items[j] = held as T & number;
  }
}
