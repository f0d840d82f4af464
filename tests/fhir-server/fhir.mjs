// The FHIR REST API under /fhir/R4: medplum's FhirRouter does the interactions; this module
// checks what it would get wrong (see search.mjs) and adds the HTTP parts a FHIR client relies
// on and the router leaves out: statuses, Location, ETag, Last-Modified, paging links.
import { getStatus, isResourceType } from '@medplum/core';
import { buildCapabilityStatement } from './capability.mjs';
import { notFound, notSupported } from './outcome.mjs';
import { decorateSearchset, normaliseSearch } from './search.mjs';

/**
 * Creates the handler for one FHIR request. `request` is
 * `{ method, segments, query, headers, body, base }`: the path below the base split on `/`,
 * the URLSearchParams, lower-cased headers, the parsed JSON body and the absolute base URL.
 * Returns `{ status, headers, body }`; throws HttpError for the wrapper's own rejections.
 */
export function createFhirApi({ router, repo, softwareVersion, authRequired }) {
  const capability = buildCapabilityStatement({ softwareVersion, authRequired });

  const dispatch = async (method, url, body, headers) => {
    const request = { method, url, pathname: '', body, params: {}, query: {}, headers, config: {} };
    const [outcome, resource] = await router.handleRequest(request, repo);
    return { status: getStatus(outcome), outcome, resource };
  };

  return async function handle(request) {
    const { method, segments, query, base } = request;
    let { headers, body } = request;
    const [resourceType, id] = segments;

    if (segments.length === 0) {
      if (method !== 'POST') {
        throw notSupported('system-level search and history are not supported');
      }
      const result = await dispatch('POST', '', body, headers);
      return respond(result, base, (bundle) => decorateBatchResponse(bundle, base));
    }
    if (resourceType === 'metadata' && segments.length === 1 && method === 'GET') {
      return { status: 200, body: { ...capability, implementation: { ...capability.implementation, url: base } } };
    }
    if (!isResourceType(resourceType) || segments.length > 4 || (segments.length > 2 && segments[2] !== '_history')) {
      throw notFound('no such resource type or interaction');
    }
    if (id === '_search' || id === '_history') {
      throw notSupported(`${id} at type level is not supported`);
    }

    if (segments.length === 1 && method !== 'POST') {
      // Search, or a conditional update/delete/patch selected by search parameters.
      const search = normaliseSearch(resourceType, query, base);
      const result = await dispatch(method, `${resourceType}?${search.query}`, body, headers);
      if (method !== 'GET') {
        return respond(result, base);
      }
      return respond(result, base, (bundle) => decorateSearchset(bundle, { resourceType, base, ...search }));
    }

    if (segments.length === 1 && method === 'POST') {
      // The server assigns ids on create; a client-supplied id would overwrite another resource.
      body = { ...body };
      delete body.id;
      if (headers['if-none-exist']) {
        const condition = normaliseSearch(resourceType, new URLSearchParams(headers['if-none-exist']), base);
        headers = { ...headers, 'if-none-exist': condition.query.toString() };
      }
      return respond(await dispatch('POST', resourceType, body, headers), base);
    }

    let existed = true;
    if (method === 'PUT' && segments.length === 2) {
      existed = await repo.readResource(resourceType, id).then(
        () => true,
        () => false,
      );
    }
    const result = await dispatch(method, segments.join('/'), body, headers);
    if (!existed && result.status === 200) {
      result.status = 201; // update as create
    }
    return respond(result, base);
  };
}

/** Turns the router's [outcome, resource] into a response with FHIR's headers. */
function respond({ status, outcome, resource }, base, decorate = (r) => r) {
  if (status >= 400 || !resource) {
    return { status, body: outcome };
  }
  const headers = {};
  if (resource.resourceType !== 'Bundle' && resource.meta?.versionId) {
    headers.etag = `W/"${resource.meta.versionId}"`;
    if (resource.meta.lastUpdated) {
      headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    }
    if (status === 201) {
      headers.location = `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
  }
  return { status, headers, body: decorate(resource) };
}

/** Adds etag and versioned locations to batch/transaction response entries, as for single writes. */
function decorateBatchResponse(bundle, base) {
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (r?.id && r.meta?.versionId && entry.response) {
      entry.fullUrl = `${base}/${r.resourceType}/${r.id}`;
      entry.response.etag = `W/"${r.meta.versionId}"`;
      if (entry.response.status === '201') {
        entry.response.location = `${r.resourceType}/${r.id}/_history/${r.meta.versionId}`;
      }
    }
  }
  return bundle;
}
