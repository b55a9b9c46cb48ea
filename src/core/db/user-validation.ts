import { UsageError } from '../errors.js';
import { USER_ATTRIBUTE_COLUMNS, type UserAttributes } from './schema.js';

/**
 * Validation of user records, shared by `db users add/update`, populate and anyone
 * writing users: every field is checked and every problem is reported at once, before
 * anything is written. The ranges match the CHECK constraints of migration 0001; the
 * categories are the UCI Adult vocabulary, so a typo cannot silently become a category
 * the model has never seen.
 */

/** A user as written: the census attributes and the optional observed label. */
export interface UserFields extends UserAttributes {
  income: string | null;
}

export type UserField = keyof UserFields;

interface IntegerRule {
  readonly kind: 'integer';
  readonly min: number;
  readonly max: number;
}

interface CategoryRule {
  readonly kind: 'category';
  readonly values: readonly string[];
}

type FieldRule = (IntegerRule | CategoryRule) & {
  /** May be null (Adult writes "?" for it). */
  readonly nullable: boolean;
};

const EDUCATION_LEVELS = [
  'Preschool',
  '1st-4th',
  '5th-6th',
  '7th-8th',
  '9th',
  '10th',
  '11th',
  '12th',
  'HS-grad',
  'Some-college',
  'Assoc-voc',
  'Assoc-acdm',
  'Bachelors',
  'Masters',
  'Prof-school',
  'Doctorate',
] as const;

/** The rule for every field, as data. education_num is the 1-based rank of education. */
export const USER_FIELD_RULES: Readonly<Record<UserField, FieldRule>> = {
  age: { kind: 'integer', min: 0, max: 120, nullable: false },
  workclass: {
    kind: 'category',
    values: ['Private', 'Self-emp-not-inc', 'Self-emp-inc', 'Federal-gov', 'Local-gov', 'State-gov', 'Without-pay', 'Never-worked'],
    nullable: true,
  },
  fnlwgt: { kind: 'integer', min: 1, max: 10_000_000, nullable: false },
  education: { kind: 'category', values: EDUCATION_LEVELS, nullable: false },
  education_num: { kind: 'integer', min: 1, max: 16, nullable: false },
  marital_status: {
    kind: 'category',
    values: ['Married-civ-spouse', 'Divorced', 'Never-married', 'Separated', 'Widowed', 'Married-spouse-absent', 'Married-AF-spouse'],
    nullable: false,
  },
  occupation: {
    kind: 'category',
    values: [
      'Tech-support', 'Craft-repair', 'Other-service', 'Sales', 'Exec-managerial', 'Prof-specialty', 'Handlers-cleaners',
      'Machine-op-inspct', 'Adm-clerical', 'Farming-fishing', 'Transport-moving', 'Priv-house-serv', 'Protective-serv', 'Armed-Forces',
    ],
    nullable: true,
  },
  relationship: { kind: 'category', values: ['Wife', 'Own-child', 'Husband', 'Not-in-family', 'Other-relative', 'Unmarried'], nullable: false },
  race: { kind: 'category', values: ['White', 'Asian-Pac-Islander', 'Amer-Indian-Eskimo', 'Other', 'Black'], nullable: false },
  sex: { kind: 'category', values: ['Female', 'Male'], nullable: false },
  capital_gain: { kind: 'integer', min: 0, max: 1_000_000, nullable: false },
  capital_loss: { kind: 'integer', min: 0, max: 1_000_000, nullable: false },
  hours_per_week: { kind: 'integer', min: 1, max: 99, nullable: false },
  native_country: {
    kind: 'category',
    values: [
      'United-States', 'Cambodia', 'England', 'Puerto-Rico', 'Canada', 'Germany', 'Outlying-US(Guam-USVI-etc)', 'India', 'Japan', 'Greece',
      'South', 'China', 'Cuba', 'Iran', 'Honduras', 'Philippines', 'Italy', 'Poland', 'Jamaica', 'Vietnam', 'Mexico', 'Portugal', 'Ireland',
      'France', 'Dominican-Republic', 'Laos', 'Ecuador', 'Taiwan', 'Haiti', 'Columbia', 'Hungary', 'Guatemala', 'Nicaragua', 'Scotland',
      'Thailand', 'Yugoslavia', 'El-Salvador', 'Trinadad&Tobago', 'Peru', 'Hong', 'Holand-Netherlands',
    ],
    nullable: true,
  },
  income: { kind: 'category', values: ['<=50K', '>50K'], nullable: true },
};

export const USER_FIELDS = [...USER_ATTRIBUTE_COLUMNS, 'income'] as const satisfies readonly UserField[];

/** Raw input: flag strings from the command line, or values from JSON. */
export type UserInput = Readonly<Record<string, unknown>>;

export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Validates a complete new user. education_num may be left out when education is given
 * (it is derived); nullable fields may be left out (null).
 */
export function validateNewUser(input: UserInput): ValidationResult<UserFields> {
  let withDerived = input;
  // Copy only when deriving: populate validates ~50,000 records that all have education_num.
  if (input.education_num === undefined && typeof input.education === 'string') {
    const rank = educationRank(input.education);
    if (rank !== undefined) withDerived = { ...input, education_num: rank };
  }
  const result = validateFields(withDerived, true);
  return result.ok ? { ok: true, value: result.value as UserFields } : result;
}

/** Validates a partial update: only the given fields, at least one (education brings its education_num). */
export function validateUserPatch(input: UserInput): ValidationResult<Partial<UserFields>> {
  if (Object.keys(input).length === 0) {
    return { ok: false, problems: [`nothing to update: give at least one of --${USER_FIELDS.map(flagName).join(', --')}`] };
  }
  const withDerived = { ...input };
  if (withDerived.education_num === undefined && typeof withDerived.education === 'string') {
    const rank = educationRank(withDerived.education);
    if (rank !== undefined) withDerived.education_num = rank;
  }
  return validateFields(withDerived, false);
}

/** validateNewUser, throwing UsageError 'USER_INVALID' with every problem. */
export function parseNewUser(input: UserInput): UserFields {
  return unwrap(validateNewUser(input));
}

/** validateUserPatch, throwing UsageError 'USER_INVALID' with every problem. */
export function parseUserPatch(input: UserInput): Partial<UserFields> {
  return unwrap(validateUserPatch(input));
}

function unwrap<T>(result: ValidationResult<T>): T {
  if (result.ok) return result.value;
  const count = result.problems.length;
  throw new UsageError('USER_INVALID', `invalid user: ${count} problem${count === 1 ? '' : 's'}; nothing was written`, {
    problems: result.problems,
  });
}

/** The command-line flag for a field: hours_per_week → hours-per-week. */
export function flagName(field: string): string {
  return field.replaceAll('_', '-');
}

function validateFields(input: UserInput, complete: boolean): ValidationResult<Partial<UserFields>> {
  const problems: string[] = [];
  const value: Record<string, string | number | null> = {};
  for (const key in input) {
    if (!Object.hasOwn(USER_FIELD_RULES, key)) problems.push(`${key}: not a user field; fields are ${USER_FIELDS.join(', ')}`);
  }
  for (const field of USER_FIELDS) {
    const rule = USER_FIELD_RULES[field];
    const raw = input[field];
    if (raw === undefined) {
      if (complete && !rule.nullable) problems.push(`${field}: required (--${flagName(field)})`);
      else if (complete) value[field] = null;
      continue;
    }
    const checked = checkField(field, rule, raw);
    if (typeof checked === 'object' && checked !== null && 'problem' in checked) problems.push(checked.problem);
    else value[field] = checked;
  }
  const education = value.education ?? undefined;
  const educationNum = value.education_num ?? undefined;
  if (typeof education === 'string' && typeof educationNum === 'number') {
    const rank = educationRank(education);
    if (rank !== undefined && rank !== educationNum) {
      problems.push(`education_num: ${educationNum} does not match education "${education}" (which is ${rank})`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: value as Partial<UserFields> };
}

function checkField(field: string, rule: FieldRule, raw: unknown): string | number | null | { problem: string } {
  if (raw === null || (typeof raw === 'string' && (raw.trim() === '' || raw.trim() === '?'))) {
    return rule.nullable ? null : { problem: `${field}: required, cannot be empty` };
  }
  if (rule.kind === 'integer') {
    // Text must spell a decimal integer: Number() would also read "0x20" as 32, "3e1" as 30,
    // "0b1" as 1 and "1_0" never, which a user typing --age does not mean.
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && DECIMAL_INTEGER.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
    if (!Number.isInteger(n)) return { problem: `${field}: must be a whole number in decimal digits, got ${JSON.stringify(raw)}` };
    if (n < rule.min || n > rule.max) return { problem: `${field}: must be between ${rule.min} and ${rule.max}, got ${n}` };
    return n;
  }
  if (typeof raw !== 'string') return { problem: `${field}: must be text, got ${JSON.stringify(raw)}` };
  const text = raw.trim();
  // Accept any letter case; store the canonical spelling.
  const canonical = canonicalSpellings(rule).get(text.toLowerCase());
  if (canonical !== undefined) return canonical;
  const close = rule.values.filter((v) => v.toLowerCase().startsWith(text.slice(0, 3).toLowerCase()));
  const listed = rule.values.length <= 16 ? rule.values : close.length > 0 ? close : rule.values.slice(0, 8);
  const more = listed.length < rule.values.length ? `, … (${rule.values.length} in all)` : '';
  return { problem: `${field}: unknown value "${text}"; expected one of ${listed.join(', ')}${more}` };
}

/** Optional sign, then decimal digits only. */
const DECIMAL_INTEGER = /^[+-]?\d+$/;

/** True when `text` spells an integer in decimal digits (an optional sign; no hex, exponent or separators). */
export function isDecimalInteger(text: string): boolean {
  return DECIMAL_INTEGER.test(text.trim());
}

const spellings = new WeakMap<CategoryRule, Map<string, string>>();

/** Lower-cased value → canonical value, built once per rule (populate checks ~50,000 rows). */
function canonicalSpellings(rule: CategoryRule): Map<string, string> {
  let map = spellings.get(rule);
  if (map === undefined) {
    map = new Map(rule.values.map((v) => [v.toLowerCase(), v]));
    spellings.set(rule, map);
  }
  return map;
}

function educationRank(education: string): number | undefined {
  const index = EDUCATION_LEVELS.findIndex((level) => level.toLowerCase() === education.trim().toLowerCase());
  return index < 0 ? undefined : index + 1;
}
