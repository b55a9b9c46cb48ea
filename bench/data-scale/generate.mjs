// Writes an Adult-like CSV of any size for bench/data-scale.mjs: the rows of adult.data drawn at
// random (seeded) with noise on every number and, now and then, another category, plus a numeric
// regression target (`yearly_income`, a noisy linear function of the columns) so that
// `train --model linear` has something to fit. A header line, "," separators, "?" where Adult
// has a missing value, no quotes.
//
//   node bench/data-scale/generate.mjs <rows> <out.csv> [seed]
//
// Never commit its output: the benchmark writes the files it needs into a temporary folder.
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const COLUMNS = [
  'age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation', 'relationship',
  'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country', 'income', 'yearly_income',
];
export const CATEGORICAL = ['workclass', 'education', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'native_country'];

/** mulberry32: small, seeded, good enough for noise. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function adultRows(mirror) {
  const text = readFileSync(join(mirror, 'income', 'adult.data'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(',').map((field) => field.trim()));
}

/**
 * Writes `rows` rows to `out`; resolves with the bytes written. The same rows, size and seed
 * give the same file.
 */
export async function generateAdultLike(rows, out, { seed = 1, mirror = process.env.MLCTL_DATA_MIRROR } = {}) {
  if (mirror === undefined) throw new Error('set MLCTL_DATA_MIRROR to the folder holding income/adult.data');
  const source = adultRows(mirror);
  const random = rng(seed);
  const categories = CATEGORICAL.map((name) => {
    const index = COLUMNS.indexOf(name);
    return { index, values: [...new Set(source.map((row) => row[index]).filter((v) => v !== '?'))] };
  });
  const educationBonus = new Map();
  const stream = createWriteStream(out);
  let bytes = 0;
  let buffer = `${COLUMNS.join(',')}\n`;
  const flush = async () => {
    bytes += Buffer.byteLength(buffer);
    if (!stream.write(buffer)) await new Promise((resolve) => stream.once('drain', resolve));
    buffer = '';
  };
  for (let r = 0; r < rows; r++) {
    const row = [...source[Math.floor(random() * source.length)]];
    // Numbers: ages and hours move a little, weights and capital by a few per cent.
    const age = Math.min(90, Math.max(17, Number(row[0]) + Math.round((random() - 0.5) * 6)));
    row[0] = String(age);
    row[2] = String(Math.max(10_000, Math.round(Number(row[2]) * (0.9 + random() * 0.2))));
    const gain = Number(row[10]);
    row[10] = String(gain === 0 ? 0 : Math.round(gain * (0.95 + random() * 0.1)));
    const loss = Number(row[11]);
    row[11] = String(loss === 0 ? 0 : Math.round(loss * (0.95 + random() * 0.1)));
    const hours = Math.min(99, Math.max(1, Number(row[12]) + Math.round((random() - 0.5) * 8)));
    row[12] = String(hours);
    // One row in fifty takes another category in one of its columns.
    if (random() < 0.02) {
      const column = categories[Math.floor(random() * categories.length)];
      row[column.index] = column.values[Math.floor(random() * column.values.length)];
    }
    const education = row[3];
    if (!educationBonus.has(education)) educationBonus.set(education, Math.round(random() * 20_000));
    const target =
      12_000 + 450 * age + 1_800 * Number(row[4]) + 220 * hours + 0.6 * Number(row[10]) - 0.3 * Number(row[11]) +
      (row[9] === 'Male' ? 4_000 : 0) + educationBonus.get(education) + (random() - 0.5) * 16_000;
    row[15] = String(Math.round(target));
    buffer += `${row.join(',')}\n`;
    if (buffer.length > 1 << 20) await flush();
  }
  await flush();
  await new Promise((resolve, reject) => stream.end((error) => (error ? reject(error) : resolve())));
  return bytes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [rows, out, seed] = process.argv.slice(2);
  if (rows === undefined || out === undefined) {
    process.stderr.write('usage: node bench/data-scale/generate.mjs <rows> <out.csv> [seed]\n');
    process.exit(2);
  }
  const bytes = await generateAdultLike(Number(rows), out, { seed: seed === undefined ? 1 : Number(seed) });
  process.stdout.write(`${JSON.stringify({ rows: Number(rows), out, bytes })}\n`);
}
