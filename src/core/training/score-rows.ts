import { forEachBlock, type FeatureRows } from '../features/feature-rows.js';
import type { Scorer } from '../models/model-family.js';

/** Rows scored at a time: the feature block is reused, so scoring holds one block, never the whole matrix. */
const SCORE_BLOCK_ROWS = 65_536;

/** The scorer's raw outputs for every row of `x`, `scorer.outputs` per row, written a block at a time. */
export async function scoreRows(scorer: Scorer, x: FeatureRows, onBlock?: (done: number, total: number) => void): Promise<Float32Array> {
  const out = new Float32Array(x.rows * scorer.outputs);
  await forEachBlock(
    x,
    async (block, from, to) => {
      const scored = await scorer.score(block, to - from);
      out.set(scored.subarray(0, (to - from) * scorer.outputs), from * scorer.outputs);
      onBlock?.(to, x.rows);
    },
    SCORE_BLOCK_ROWS,
  );
  return out;
}
