// Search parameter checks and paging links.
//
// medplum's MemoryRepository matches every filter in memory, but it quietly returns nothing for a
// parameter it does not know or cannot evaluate, and it ignores `_include` and friends. A test
// that sends a misspelt parameter should fail loudly, so this module rejects (400) whatever the
// memory repository would get wrong, and normalises the few forms it would mismatch. It also
// builds the `self`/`next` links the repository does not produce, as absolute URLs on the base
// the client used (fhir-sdk refuses to follow a link to another origin).
import { globalSchema } from '@medplum/core';
import { badRequest, notSupported } from './outcome.mjs';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

/** Parameter types the in-memory matcher evaluates; others (number, quantity...) never match. */
export const MATCHABLE_TYPES = new Set(['date', 'reference', 'string', 'token', 'uri']);

/** Result parameters accepted and ignored: the total is always exact, JSON is the only format. */
const IGNORED = new Set(['_total', '_format', '_pretty']);

/** The search parameters of `resourceType` the in-memory matcher can evaluate, by code. */
export function matchableParams(resourceType) {
  const params = globalSchema.types[resourceType]?.searchParams ?? {};
  return Object.values(params).filter((p) => MATCHABLE_TYPES.has(p.type));
}

/**
 * Checks and normalises the query of a type-level search (or conditional write).
 * Returns a new URLSearchParams with `_count` and `_offset` explicit; throws HttpError(400).
 */
export function normaliseSearch(resourceType, query, base) {
  const params = globalSchema.types[resourceType]?.searchParams ?? {};
  const out = new URLSearchParams();
  let count = DEFAULT_COUNT;
  let offset = 0;
  for (const [key, value] of query) {
    const [code, modifier = ''] = splitOnce(key, ':');
    if (code === '_count') {
      count = Math.min(nonNegativeInteger(key, value), MAX_COUNT);
    } else if (code === '_offset') {
      offset = nonNegativeInteger(key, value);
    } else if (code === '_sort') {
      out.append(key, checkSort(resourceType, params, value));
    } else if (IGNORED.has(code)) {
      continue;
    } else if (code === '_has' || code.includes('.')) {
      throw notSupported(`chained and reverse-chained search (${code}) is not supported`);
    } else {
      const param = params[code];
      if (!param) {
        throw badRequest(`unknown search parameter ${code} for ${resourceType}`);
      }
      if (!MATCHABLE_TYPES.has(param.type)) {
        throw notSupported(`search parameter ${code} (type ${param.type}) is not supported`);
      }
      out.append(...normaliseFilter(param, code, modifier, value, base));
    }
  }
  out.set('_count', String(count));
  if (offset > 0) {
    out.set('_offset', String(offset));
  }
  return { query: out, count, offset };
}

function normaliseFilter(param, code, modifier, value, base) {
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') {
      throw badRequest(`${code}:missing takes true or false`);
    }
    return [`${code}:missing`, value];
  }
  switch (param.type) {
    case 'token':
      if (modifier !== '' && modifier !== 'not') {
        throw notSupported(`modifier :${modifier} on ${code} is not supported (only :not, :missing)`);
      }
      return [modifier ? `${code}:${modifier}` : code, value];
    case 'string':
      // The matcher treats every string search as a case-insensitive "contains".
      if (modifier !== '' && modifier !== 'contains') {
        throw notSupported(`modifier :${modifier} on ${code} is not supported (only :contains, :missing)`);
      }
      return [code, value];
    case 'reference':
      return [code, normaliseReferences(param, code, modifier, value, base)];
    default:
      if (modifier !== '') {
        throw notSupported(`modifier :${modifier} on ${code} is not supported (only :missing)`);
      }
      return [code, value];
  }
}

/**
 * The matcher compares reference strings exactly, so `patient=123`, `subject:Patient=123` and
 * `subject=<base>/Patient/123` would never match `Patient/123`; rewrite them to `Type/id`.
 */
function normaliseReferences(param, code, modifier, value, base) {
  let targetType;
  if (modifier !== '') {
    if (!/^[A-Z][A-Za-z]+$/.test(modifier) || !(param.target ?? []).includes(modifier)) {
      throw notSupported(`modifier :${modifier} on ${code} is not supported (only a target type, :missing)`);
    }
    targetType = modifier;
  } else if (param.target?.length === 1) {
    targetType = param.target[0];
  }
  return value
    .split(',')
    .map((one) => {
      if (one.startsWith(base + '/')) {
        one = one.substring(base.length + 1);
      }
      if (one.includes('/')) {
        return one;
      }
      if (!targetType) {
        throw badRequest(`${code} may refer to several resource types: give Type/id or ${code}:Type`);
      }
      return `${targetType}/${one}`;
    })
    .join(',');
}

/** medplum sorts by each rule in turn (the last one wins), so only one sort key is accepted. */
function checkSort(resourceType, params, value) {
  const keys = value.split(',');
  if (keys.length !== 1) {
    throw notSupported('_sort with more than one key is not supported');
  }
  const code = keys[0].replace(/^-/, '');
  if (!params[code]) {
    throw badRequest(`unknown _sort parameter ${code} for ${resourceType}`);
  }
  return value;
}

function nonNegativeInteger(key, value) {
  if (!/^\d+$/.test(value)) {
    throw badRequest(`${key} must be a non-negative integer`);
  }
  return Number.parseInt(value, 10);
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.substring(0, at), text.substring(at + 1)];
}

/**
 * Turns the repository's bare searchset into what a FHIR client expects: absolute `self` and
 * (while more results remain) `next` links, and `fullUrl` plus `search.mode` on every entry.
 */
export function decorateSearchset(bundle, { resourceType, query, count, offset, base }) {
  const url = (q) => `${base}/${resourceType}?${q.toString()}`;
  const link = [{ relation: 'self', url: url(query) }];
  const total = bundle.total ?? 0;
  if (count > 0 && offset + count < total) {
    const next = new URLSearchParams(query);
    next.set('_offset', String(offset + count));
    link.push({ relation: 'next', url: url(next) });
  }
  const entry = (bundle.entry ?? []).map((e) => ({
    fullUrl: `${base}/${e.resource.resourceType}/${e.resource.id}`,
    resource: e.resource,
    search: { mode: 'match' },
  }));
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link,
    ...(entry.length > 0 ? { entry } : {}),
  };
}
