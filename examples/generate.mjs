#!/usr/bin/env node
// Writes the example CSVs of the README's "Your own CSV" tour, the same bytes every time
// (a seeded generator): node examples/generate.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** mulberry32: small, seeded, the same on every machine. */
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

function write(name, header, rows) {
  writeFileSync(join(here, name), `${[header, ...rows].map((r) => r.join(',')).join('\n')}\n`);
}

// Three species told apart by petal length; an id (left out as id-like) and a colour that carries little.
{
  const r = rng(11);
  const species = ['setosa', 'versicolor', 'virginica'];
  const rows = Array.from({ length: 300 }, (_, i) => {
    const k = i % 3;
    return [i + 1, (1 + k * 2 + r() * 1.6).toFixed(2), (0.2 + k * 0.8 + r() * 0.9).toFixed(2), ['red', 'blue', 'white', 'NA'][Math.floor(r() * 4)], species[k]];
  });
  write('flowers.csv', ['id', 'petal_length', 'petal_width', 'colour', 'species'], rows);
}

// House prices: a sale date, area, rooms and a garden (yes/no); eleven sales with no price.
{
  const r = rng(12);
  const rows = Array.from({ length: 400 }, (_, i) => {
    const sold = new Date(Date.UTC(2020, 0, 1) + Math.floor(r() * 1800) * 86_400_000).toISOString().slice(0, 10);
    const area = 40 + Math.floor(r() * 160);
    const rooms = 1 + Math.floor(area / 30 + r() * 2);
    const garden = r() < 0.4;
    const years = (Date.parse(sold) - Date.UTC(2020, 0, 1)) / (365.25 * 86_400_000);
    const price = 2_500 * area + 8_000 * rooms + (garden ? 25_000 : 0) + 9_000 * years + (r() - 0.5) * 30_000;
    return [sold, area, rooms, garden ? 'yes' : 'no', i % 37 === 0 ? 'NA' : Math.round(price / 100) * 100];
  });
  write('houses.csv', ['sold', 'area_m2', 'rooms', 'garden', 'price'], rows);
}
