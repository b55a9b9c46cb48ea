"""Reference figures for bench/gbt-engine.mjs: scikit-learn's HistGradientBoostingClassifier
with its defaults (early stopping on an internal 10 % split, as 'auto' does above 10,000 rows)
and native categorical splits for the string columns, on the Adult files.

Run with the system Python that has scikit-learn: /usr/bin/python3 bench/gbt-sklearn-reference.py [seed]
Prints one JSON document with the same keys as bench/gbt-engine.mjs, plus wallMs (the whole
script from its first line, imports and CSV reading included; interpreter start-up is not).
On a machine busy with other work, OpenMP's spinning threads can make the fit 30x slower:
compare with OMP_NUM_THREADS=1 there (the engine is single-threaded too).
"""
import time

WALL_START = time.perf_counter()
import json
import os
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

COLUMNS = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation',
           'relationship', 'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country', 'income']
CATEGORICAL = ['workclass', 'education', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'native_country']
DATA = os.environ.get('MLCTL_DATA_MIRROR', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data'))


def read(name, skip):
    frame = pd.read_csv(os.path.join(DATA, 'income', name), header=None, names=COLUMNS, skipinitialspace=True,
                        na_values='?', skiprows=skip)
    y = frame.pop('income').str.rstrip('.').eq('>50K').to_numpy(dtype=np.int64)
    return frame, y


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    train, y_train = read('adult.data', 0)
    test, y_test = read('adult.test', 1)
    # Codes by sorted training categories, NaN for missing and for categories unseen in training.
    for column in CATEGORICAL:
        categories = sorted(train[column].dropna().unique())
        train[column] = pd.Categorical(train[column], categories=categories).codes.astype(np.float64)
        test[column] = pd.Categorical(test[column], categories=categories).codes.astype(np.float64)
        train.loc[train[column] < 0, column] = np.nan
        test.loc[test[column] < 0, column] = np.nan
    mask = np.array([c in CATEGORICAL for c in train.columns])
    model = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed)
    started = time.perf_counter()
    model.fit(train.to_numpy(np.float64), y_train)
    fit_ms = (time.perf_counter() - started) * 1000
    x_test = test.to_numpy(np.float64)
    started = time.perf_counter()
    prob = model.predict_proba(x_test)[:, 1]
    score_ms = (time.perf_counter() - started) * 1000
    one = x_test[:1]
    model.predict_proba(one)
    reps = 200
    started = time.perf_counter()
    for _ in range(reps):
        model.predict_proba(one)
    single_us = (time.perf_counter() - started) / reps * 1e6
    print(json.dumps({
        'engine': 'sklearn-hist-gradient-boosting',
        'seed': seed,
        'accuracy': round(float(accuracy_score(y_test, prob >= 0.5)), 4),
        'auc': round(float(roc_auc_score(y_test, prob)), 4),
        'logLoss': round(float(log_loss(y_test, prob)), 4),
        'trees': int(model.n_iter_),
        'fitMs': round(fit_ms, 1),
        'scoreMs': round(score_ms, 1),
        'singleRowUs': round(single_us, 1),
        'wallMs': round((time.perf_counter() - WALL_START) * 1000, 1),
    }, indent=2))


main()
