"""The pandas + scikit-learn side of bench/data-scale.mjs: the same jobs mlctl does, the way a
data scientist would write them, on the file the benchmark generated.

    /usr/bin/python3 bench/data-scale/reference.py describe <file.csv>
    /usr/bin/python3 bench/data-scale/reference.py linear <file.csv>    # yearly_income, LinearRegression
    /usr/bin/python3 bench/data-scale/reference.py gbt <file.csv>       # income, HistGradientBoostingClassifier
    /usr/bin/python3 bench/data-scale/reference.py predict <file.csv>   # fit on 100,000 rows, then score every row to a CSV

Each job reads the CSV with pandas (missing values as mlctl's defaults read them), holds out 20 %
for testing where it trains (seed 42), and prints one JSON document with its metric and the
time of each step. Run it under bench/data-scale/measure.py for wall time and peak RSS.
"""
import time

WALL_START = time.perf_counter()
import json
import os
import sys

import numpy as np
import pandas as pd

NA = ['', 'NA', 'N/A', 'NaN', 'null', '?', '.']
CATEGORICAL = ['workclass', 'education', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'native_country']


def read(path):
    return pd.read_csv(path, na_values=NA, keep_default_na=False)


def preprocessor(numeric, categorical):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    return ColumnTransformer([
        ('numbers', make_pipeline(SimpleImputer(strategy='median'), StandardScaler()), numeric),
        ('categories', make_pipeline(SimpleImputer(strategy='most_frequent'), OneHotEncoder(drop='first', handle_unknown='ignore')), categorical),
    ])


def describe(path):
    steps = {}
    started = time.perf_counter()
    frame = read(path)
    steps['readMs'] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    summary = frame.describe(include='all')
    steps['describeMs'] = (time.perf_counter() - started) * 1000
    return {'rows': len(frame), 'columns': int(summary.shape[1]), **steps}


def linear(path):
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    steps = {}
    started = time.perf_counter()
    frame = read(path)
    steps['readMs'] = (time.perf_counter() - started) * 1000
    y = frame.pop('yearly_income').to_numpy(np.float64)
    categorical = [c for c in frame.columns if frame[c].dtype == object]
    numeric = [c for c in frame.columns if c not in categorical]
    x_train, x_test, y_train, y_test = train_test_split(frame, y, test_size=0.2, random_state=42)
    model = make_pipeline(preprocessor(numeric, categorical), LinearRegression())
    started = time.perf_counter()
    model.fit(x_train, y_train)
    steps['fitMs'] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    r2 = r2_score(y_test, model.predict(x_test))
    steps['evaluateMs'] = (time.perf_counter() - started) * 1000
    return {'rows': len(frame), 'r2': round(float(r2), 4), **steps}


def gbt(path):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    steps = {}
    started = time.perf_counter()
    frame = read(path)
    steps['readMs'] = (time.perf_counter() - started) * 1000
    y = frame.pop('income').eq('>50K').to_numpy(np.int64)
    frame = frame.drop(columns=['yearly_income'])
    categorical = [c for c in frame.columns if frame[c].dtype == object]
    for column in categorical:
        frame[column] = frame[column].astype('category').cat.codes.astype(np.float64).replace(-1, np.nan)
    mask = np.array([c in categorical for c in frame.columns])
    x_train, x_test, y_train, y_test = train_test_split(frame.to_numpy(np.float64), y, test_size=0.2, random_state=42, stratify=y)
    model = HistGradientBoostingClassifier(categorical_features=mask, random_state=42)
    started = time.perf_counter()
    model.fit(x_train, y_train)
    steps['fitMs'] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    prob = model.predict_proba(x_test)[:, 1]
    steps['evaluateMs'] = (time.perf_counter() - started) * 1000
    return {'rows': len(frame), 'accuracy': round(float(accuracy_score(y_test, prob >= 0.5)), 4), 'auc': round(float(roc_auc_score(y_test, prob)), 4), 'trees': int(model.n_iter_), **steps}


def predict(path):
    from sklearn.ensemble import HistGradientBoostingClassifier
    steps = {}
    started = time.perf_counter()
    frame = read(path)
    steps['readMs'] = (time.perf_counter() - started) * 1000
    y = frame.pop('income').eq('>50K').to_numpy(np.int64)
    frame = frame.drop(columns=['yearly_income'])
    for column in [c for c in frame.columns if frame[c].dtype == object]:
        frame[column] = frame[column].astype('category').cat.codes.astype(np.float64).replace(-1, np.nan)
    x = frame.to_numpy(np.float64)
    model = HistGradientBoostingClassifier(random_state=42).fit(x[:100_000], y[:100_000])
    started = time.perf_counter()
    out = os.path.join(os.path.dirname(os.path.abspath(path)), 'sklearn-predictions.csv')
    pd.DataFrame({'probability': model.predict_proba(x)[:, 1]}).to_csv(out, index=False)
    steps['predictMs'] = (time.perf_counter() - started) * 1000
    os.remove(out)
    return {'rows': len(frame), **steps}


JOBS = {'describe': describe, 'linear': linear, 'gbt': gbt, 'predict': predict}

if __name__ == '__main__':
    job, path = sys.argv[1], sys.argv[2]
    result = JOBS[job](path)
    result = {key: (round(value, 1) if isinstance(value, float) and key.endswith('Ms') else value) for key, value in result.items()}
    print(json.dumps({'job': job, **result, 'wallMs': round((time.perf_counter() - WALL_START) * 1000, 1)}))
