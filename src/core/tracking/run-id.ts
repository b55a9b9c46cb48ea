import { randomBytes, randomInt } from 'node:crypto';

/**
 * Run ids: 12 hex digits of milliseconds since the epoch, then 8 random hex digits.
 * Lexicographic order is creation order (to the millisecond), ids from different
 * processes do not collide in practice, and the store also creates each run folder with
 * an exclusive mkdir so that a collision is retried rather than shared.
 */
const RUN_ID = /^[0-9a-f]{20}$/;

export function createRunId(nowMs: number): string {
  const time = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12);
  return `${time}${randomBytes(4).toString('hex')}`;
}

export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

const ADJECTIVES = [
  'amber', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager',
  'fair', 'fancy', 'fierce', 'gentle', 'glad', 'golden', 'grand', 'happy', 'hidden', 'humble',
  'jolly', 'keen', 'kind', 'lively', 'lucky', 'merry', 'mighty', 'misty', 'noble', 'patient',
  'polite', 'proud', 'quick', 'quiet', 'rapid', 'rare', 'silent', 'silver', 'sleek', 'smart',
  'snowy', 'steady', 'sunny', 'swift', 'tidy', 'vivid', 'warm', 'wild', 'wise', 'witty',
];
const ANIMALS = [
  'badger', 'bat', 'bear', 'beaver', 'bison', 'crane', 'crow', 'deer', 'dolphin', 'eagle',
  'falcon', 'ferret', 'finch', 'fox', 'gecko', 'goat', 'hare', 'hawk', 'heron', 'ibis',
  'jaguar', 'koala', 'lark', 'lemur', 'lynx', 'marten', 'mole', 'moose', 'newt', 'otter',
  'owl', 'panda', 'puffin', 'quail', 'raven', 'robin', 'seal', 'shrew', 'sloth', 'sparrow',
  'stoat', 'swan', 'tapir', 'tiger', 'toad', 'trout', 'viper', 'walrus', 'wolf', 'wren',
];

/** A readable name such as "brave-otter-42": for people, not an identifier. */
export function createRunName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${ANIMALS[randomInt(ANIMALS.length)]}-${randomInt(100)}`;
}
