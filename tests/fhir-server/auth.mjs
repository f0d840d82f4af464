// Bearer-token checks and an NHS England style token endpoint (signed JWT, client credentials),
// so the adapter's authentication and token caching can be tested against a real exchange.
//
// The token endpoint follows NHS England's "application-restricted RESTful API, signed JWT
// authentication" flow: the client posts a JWT signed with RS512 whose `iss` and `sub` are its
// client id, `aud` the token URL, with a unique `jti` and an `exp` at most five minutes ahead;
// it receives an opaque access token with `expires_in` as a string. Only Node's own crypto.
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_EXP_AHEAD_SECONDS = 300;

export function createAuth({ staticToken, publicKeyPath, ttlSeconds }) {
  const publicKey = publicKeyPath ? loadRsaKey(publicKeyPath) : undefined;
  const issued = new Map(); // access token -> expiry (ms since epoch)
  const usedJtis = new Set();
  const stats = { tokens_issued: 0, requests: 0 };

  /** True when the request carries an accepted bearer token (or no auth is configured). */
  function authorised(headers) {
    if (!staticToken && !publicKey) {
      return true;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
    if (!match) {
      return false;
    }
    const token = match[1];
    if (staticToken && token === staticToken) {
      return true;
    }
    const expiry = issued.get(token);
    return expiry !== undefined && Date.now() < expiry;
  }

  /** Answers POST /oauth2/token. `form` is the URLSearchParams body; `tokenUrl` the expected aud. */
  function issueToken(form, tokenUrl) {
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    }
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
      return oauthError(400, 'invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
    }
    const assertion = form.get('client_assertion');
    if (!assertion) {
      return oauthError(400, 'invalid_request', 'Missing client_assertion');
    }
    const parts = assertion.split('.');
    if (parts.length !== 3) {
      return oauthError(400, 'invalid_request', 'Malformed JWT in client_assertion');
    }
    const header = decodeJson(parts[0]);
    const claims = decodeJson(parts[1]);
    if (!header || !claims) {
      return oauthError(400, 'invalid_request', 'Malformed JWT in client_assertion');
    }
    if (header.alg !== 'RS512') {
      return oauthError(400, 'invalid_request', "Invalid 'alg' header in JWT - must be RS512");
    }
    if (typeof header.kid !== 'string' || header.kid === '') {
      return oauthError(400, 'invalid_request', "Missing 'kid' header in JWT");
    }
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!signatureValid(signed, parts[2], publicKey)) {
      return oauthError(401, 'invalid_client', 'JWT signature verification failed');
    }
    if (typeof claims.iss !== 'string' || claims.iss === '') {
      return oauthError(400, 'invalid_request', "Missing or non-string 'iss' claim in JWT");
    }
    if (claims.sub !== claims.iss) {
      return oauthError(400, 'invalid_request', "Invalid 'iss'/'sub' claims in JWT - must be the same");
    }
    if (claims.aud !== tokenUrl) {
      return oauthError(400, 'invalid_request', `Invalid 'aud' claim in JWT - must be ${tokenUrl}`);
    }
    if (typeof claims.jti !== 'string' || claims.jti === '') {
      return oauthError(400, 'invalid_request', "Missing 'jti' claim in JWT");
    }
    if (usedJtis.has(claims.jti)) {
      return oauthError(400, 'invalid_request', "Non-unique 'jti' claim in JWT");
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
      return oauthError(400, 'invalid_request', "Missing or non-numeric 'exp' claim in JWT");
    }
    if (claims.exp <= now) {
      return oauthError(400, 'invalid_request', "Invalid 'exp' claim in JWT - JWT has expired");
    }
    if (claims.exp > now + MAX_EXP_AHEAD_SECONDS) {
      return oauthError(400, 'invalid_request', "Invalid 'exp' claim in JWT - more than 5 minutes in future");
    }
    usedJtis.add(claims.jti);

    for (const [token, expiry] of issued) {
      if (expiry <= Date.now()) {
        issued.delete(token);
      }
    }
    const accessToken = randomBytes(24).toString('base64url');
    issued.set(accessToken, Date.now() + ttlSeconds * 1000);
    stats.tokens_issued += 1;
    return {
      status: 200,
      body: { access_token: accessToken, expires_in: String(ttlSeconds), token_type: 'Bearer' },
    };
  }

  return {
    required: Boolean(staticToken || publicKey),
    tokenEndpoint: Boolean(publicKey),
    authorised,
    issueToken,
    stats,
  };
}

function loadRsaKey(path) {
  const key = createPublicKey(readFileSync(path));
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`FHIR_TOKEN_ENDPOINT_PUBLIC_KEY must be an RSA public key, found ${key.asymmetricKeyType}`);
  }
  return key;
}

function signatureValid(signed, signature, publicKey) {
  try {
    return verify('sha512', signed, publicKey, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

function decodeJson(segment) {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function oauthError(status, error, description) {
  return { status, body: { error, error_description: description } };
}
