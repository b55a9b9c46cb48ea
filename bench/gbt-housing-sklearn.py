"""Reference for bench/gbt-housing.mjs: scikit-learn's HistGradientBoostingRegressor with its
defaults (no early stopping below 10,000 rows, 100 iterations; furnishingstatus as a native
categorical) on the same seeded 20 % hold-out, drawn with the same mulberry32 shuffle as
src/core/random.ts. Prints R² per seed and the median.

Run with the system Python that has scikit-learn: /usr/bin/python3 bench/gbt-housing-sklearn.py
"""
import json
import os
import statistics

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score

DATA = os.environ.get('MLCTL_DATA_MIRROR', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data'))
SEEDS = [int(s) for s in os.environ.get('BENCH_SEEDS', '0,1,2,3,4').split(',')]
MASK = 0xFFFFFFFF


def mulberry32(seed):
    """createRng of src/core/random.ts, bit for bit."""
    state = int(seed) & MASK

    def next_value():
        nonlocal state
        state = (state + 0x6D2B79F5) & MASK
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & MASK
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & MASK)) & MASK)) & MASK
        return ((t ^ (t >> 14)) & MASK) / 4294967296

    return next_value


def split(n, seed, fraction):
    order = list(range(n))
    rng = mulberry32(seed)
    for i in range(n - 1, 0, -1):
        j = int(rng() * (i + 1))
        order[i], order[j] = order[j], order[i]
    cut = round(n * fraction)
    return sorted(order[:cut]), sorted(order[cut:])


def main():
    frame = pd.read_csv(os.path.join(DATA, 'housing', 'housing.csv'))
    y = frame.pop('price').to_numpy(np.float64)
    for column in frame.columns:
        if frame[column].dtype == object and set(frame[column].unique()) <= {'yes', 'no'}:
            frame[column] = (frame[column] == 'yes').astype(np.float64)
    categories = sorted(frame['furnishingstatus'].unique())
    frame['furnishingstatus'] = pd.Categorical(frame['furnishingstatus'], categories=categories).codes.astype(np.float64)
    x = frame.to_numpy(np.float64)
    mask = np.array([c == 'furnishingstatus' for c in frame.columns])
    results = []
    for seed in SEEDS:
        held, kept = split(len(y), seed, 0.2)
        model = HistGradientBoostingRegressor(categorical_features=mask, random_state=seed).fit(x[kept], y[kept])
        results.append({'seed': seed, 'r2': round(float(r2_score(y[held], model.predict(x[held]))), 4), 'iterations': int(model.n_iter_)})
    print(json.dumps({'engine': 'sklearn-hist-gradient-boosting-regressor', 'r2': round(statistics.median(r['r2'] for r in results), 4), 'perSeed': results}, indent=2))


main()
