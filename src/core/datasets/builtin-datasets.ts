import type { DatasetSpec } from './dataset-spec.js';

const ADULT_BASE = 'https://archive.ics.uci.edu/ml/machine-learning-databases/adult';

/** UCI Adult census income (Becker & Kohavi, 1996). */
export const INCOME_DATASET: DatasetSpec = {
  name: 'income',
  description: 'UCI Adult census income: does a person earn more than $50K a year?',
  files: [
    {
      name: 'adult.data',
      role: 'train',
      url: `${ADULT_BASE}/adult.data`,
      sha256: '5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d',
      rows: 32_561,
    },
    {
      name: 'adult.test',
      role: 'test',
      url: `${ADULT_BASE}/adult.test`,
      sha256: 'a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05',
      rows: 16_281,
      dialect: { skipLines: 1, labelSuffix: '.' },
    },
    {
      name: 'adult.names',
      role: 'doc',
      url: `${ADULT_BASE}/adult.names`,
      sha256: 'c248284c0b5de30c9e1958d6cdd168a34a654758b620e68f46aefa83fc0a576a',
    },
  ],
  dialect: { header: false, delimiter: ',', trim: true, missing: ['?'], skipLines: 0 },
  columns: [
    { name: 'age', type: 'number' },
    { name: 'workclass', type: 'string' },
    { name: 'fnlwgt', type: 'number' },
    { name: 'education', type: 'string' },
    { name: 'education_num', type: 'number' },
    { name: 'marital_status', type: 'string' },
    { name: 'occupation', type: 'string' },
    { name: 'relationship', type: 'string' },
    { name: 'race', type: 'string' },
    { name: 'sex', type: 'string' },
    { name: 'capital_gain', type: 'number' },
    { name: 'capital_loss', type: 'number' },
    { name: 'hours_per_week', type: 'number' },
    { name: 'native_country', type: 'string' },
    { name: 'income', type: 'string' },
  ],
};

/** Kaggle "Housing Prices Dataset", as used by the seed's LocalStack pipeline. */
export const HOUSING_DATASET: DatasetSpec = {
  name: 'housing',
  description: 'House prices with area, rooms and amenities (545 houses).',
  files: [
    {
      name: 'housing.csv',
      role: 'train',
      url: 'https://raw.githubusercontent.com/MathieuAudibert/local-ml-flow/main/src/config/housing.csv',
      sha256: '53c664e09e63570198f4197daa9d6e96b5fea6488d4a1b9259d192df2ce51ccf',
      rows: 545,
    },
  ],
  dialect: { header: true, delimiter: ',', trim: true, missing: [''], skipLines: 0 },
  columns: [
    { name: 'price', type: 'number' },
    { name: 'area', type: 'number' },
    { name: 'bedrooms', type: 'number' },
    { name: 'bathrooms', type: 'number' },
    { name: 'stories', type: 'number' },
    { name: 'mainroad', type: 'string' },
    { name: 'guestroom', type: 'string' },
    { name: 'basement', type: 'string' },
    { name: 'hotwaterheating', type: 'string' },
    { name: 'airconditioning', type: 'string' },
    { name: 'parking', type: 'number' },
    { name: 'prefarea', type: 'string' },
    { name: 'furnishingstatus', type: 'string' },
  ],
};

export const BUILTIN_DATASETS: readonly DatasetSpec[] = [INCOME_DATASET, HOUSING_DATASET];
