#!/usr/bin/env bash
# Checks the FHIR test server end to end with curl: CRUD headers, _lastUpdated search with paging
# to the end, reference/identifier searches, If-Match, batch, bearer auth, the signed-JWT token
# flow (JWT signed here with openssl) and rest-hook delivery to a local python listener.
# Not run by CI. Needs node, curl, openssl, python3. Exits non-zero on the first failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "selftest: FAIL: $*" >&2; [ -s "$work/body" ] && head -c 600 "$work/body" >&2 && echo >&2; exit 1; }
ok() { echo "selftest: ok: $*"; }

if [ ! -d "$here/node_modules" ]; then
  npm ci --prefix "$here" --no-audit --no-fund >/dev/null
fi

# --- keys and a listener for rest-hooks -------------------------------------------------------
openssl genrsa -out "$work/key.pem" 2048 2>/dev/null
openssl rsa -in "$work/key.pem" -pubout -out "$work/pub.pem" 2>/dev/null

cat > "$work/listener.py" <<'EOF'
import http.server, json, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(out, "a") as f:
            f.write(json.dumps({"type": self.headers.get("content-type"), "x_test": self.headers.get("x-test"),
                                "resource": json.loads(body)}) + "\n")
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *args): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$work/listener.py" "$work/hooks.jsonl" > "$work/listener.port" &
pids+=($!)

# --- start the server --------------------------------------------------------------------------
TOKEN=static-test-token
PORT=0 FHIR_BEARER_TOKEN=$TOKEN FHIR_TOKEN_ENDPOINT_PUBLIC_KEY="$work/pub.pem" FHIR_TOKEN_TTL_SECONDS=2 \
  node --experimental-websocket "$here/server.mjs" > "$work/server.out" 2> "$work/server.err" &
pids+=($!)
for _ in $(seq 1 60); do
  grep -q '^FHIR server listening on ' "$work/server.out" 2>/dev/null && [ -s "$work/listener.port" ] && break
  sleep 0.5
done
line=$(cat "$work/server.out")
[[ "$line" =~ ^FHIR\ server\ listening\ on\ (http://127\.0\.0\.1:[0-9]+/fhir/R4)$ ]] || fail "startup line: $line"
BASE=${BASH_REMATCH[1]}
ORIGIN=${BASE%/fhir/R4}
HOOK="http://127.0.0.1:$(cat "$work/listener.port")/hook"
ok "started at $BASE"

# req METHOD URL [BODY] [curl args...]: sets STATUS; body in $work/body, headers in $work/headers.
req() {
  local method=$1 url=$2 body=${3:-}
  shift 3 || shift $#
  local args=(-s -X "$method" -o "$work/body" -D "$work/headers" -w '%{http_code}'
    -H 'Accept: application/fhir+json; fhirVersion=4.3' -H "Authorization: Bearer $AUTH")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/fhir+json' --data-binary "$body")
  STATUS=$(curl "${args[@]}" "$@" "$url")
}
# py EXPR: evaluates a python expression with `b` = the last response body (parsed JSON).
py() { python3 -c "import json,sys; b=json.load(open('$work/body')); print($1)"; }
header() { grep -i "^$1:" "$work/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
expect() { [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS"; }

# --- metadata and auth -------------------------------------------------------------------------
AUTH=none
req GET "$BASE/metadata"
expect 200 metadata
[ "$(header content-type)" = 'application/fhir+json; fhirVersion=4.0' ] || fail "content type $(header content-type)"
[ "$(py "b['fhirVersion']")" = 4.0.1 ] || fail "fhirVersion"
req GET "$BASE/Patient"
expect 401 "search without a token"
[ "$(py "b['resourceType']")" = OperationOutcome ] || fail "401 body is not an OperationOutcome"
ok "metadata open, other requests need a bearer token"

AUTH=$TOKEN
# --- create with differing meta.lastUpdated, in an order that differs from time order ---------
req POST "$BASE/Patient" '{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}]}'
expect 201 "create Patient"
PATIENT=$(py "b['id']")
VID=$(py "b['meta']['versionId']")
[ "$(header location)" = "$BASE/Patient/$PATIENT/_history/$VID" ] || fail "Location $(header location)"
[ "$(header etag)" = "W/\"$VID\"" ] || fail "ETag $(header etag)"
ok "create answers 201 with Location and ETag"

declare -A SR_AT
for minute in 05 01 04 02 03 00; do
  req POST "$BASE/ServiceRequest" "{\"resourceType\":\"ServiceRequest\",\"status\":\"active\",\"intent\":\"order\",
    \"identifier\":[{\"system\":\"https://example.org/referral\",\"value\":\"R$minute\"}],
    \"subject\":{\"reference\":\"Patient/$PATIENT\"},\"meta\":{\"lastUpdated\":\"2026-03-01T10:$minute:00+00:00\"}}"
  expect 201 "create ServiceRequest"
  SR_AT[$minute]=$(py "b['id']")
done

# _lastUpdated=gt10:00 sorted, two per page: R01..R05 over three pages, following next links.
url="$BASE/ServiceRequest?_lastUpdated=gt2026-03-01T10:00:00Z&_sort=_lastUpdated&_count=2"
seen=() pages=0
while [ -n "$url" ]; do
  req GET "$url"
  expect 200 "search page $pages"
  pages=$((pages + 1))
  [ "$(py "b['total']")" = 5 ] || fail "total"
  mapfile -t ids < <(py "'\n'.join(e['resource']['identifier'][0]['value'] for e in b.get('entry', []))")
  seen+=("${ids[@]}")
  url=$(py "next((l['url'] for l in b['link'] if l['relation']=='next'), '')")
  [[ -z "$url" || "$url" == "$BASE/"* ]] || fail "next link is not absolute on the base: $url"
done
[ "${seen[*]}" = "R01 R02 R03 R04 R05" ] || fail "paged order: ${seen[*]}"
[ "$pages" = 3 ] || fail "pages: $pages"
ok "_lastUpdated=gt with _sort and _count pages through next links in order"

req GET "$BASE/ServiceRequest?_lastUpdated=ge2026-03-01T10:04:00Z&_sort=-_lastUpdated"
[ "$(py "' '.join(e['resource']['identifier'][0]['value'] for e in b['entry'])")" = "R05 R04" ] || fail "ge, descending"
ok "_lastUpdated=ge is inclusive and -_lastUpdated sorts descending"

req GET "$BASE/ServiceRequest?identifier=https://example.org/referral%7CR03"
[ "$(py "b['entry'][0]['resource']['id']")" = "${SR_AT[03]}" ] && [ "$(py "b['total']")" = 1 ] || fail "identifier search"
req GET "$BASE/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number%7C9000000009"
[ "$(py "b['total']")" = 1 ] || fail "Patient identifier search"
for q in "subject=Patient/$PATIENT" "patient=$PATIENT" "patient=Patient/$PATIENT" "subject:Patient=$PATIENT"; do
  req GET "$BASE/ServiceRequest?$q"
  [ "$(py "b['total']")" = 6 ] || fail "search $q"
done
req GET "$BASE/ServiceRequest?subject=Patient/other"
[ "$(py "b['total']")" = 0 ] || fail "subject search for another patient"
req GET "$BASE/ServiceRequest?nosuchparam=1"
expect 400 "unknown search parameter"
ok "identifier, subject and patient searches; unknown parameters are rejected"

# --- read, update with If-Match, update-as-create, delete -------------------------------------
SR=${SR_AT[00]}
req GET "$BASE/ServiceRequest/$SR"
expect 200 read
VID=$(py "b['meta']['versionId']")
[ "$(header etag)" = "W/\"$VID\"" ] || fail "read ETag"
updated=$(py "json.dumps(dict(b, status='completed'))")
req PUT "$BASE/ServiceRequest/$SR" "$updated" -H 'If-Match: W/"not-the-version"'
expect 412 "update with a stale If-Match"
req PUT "$BASE/ServiceRequest/$SR" "$updated" -H "If-Match: W/\"$VID\""
expect 200 "update with the current If-Match"
[ "$(header etag)" != "W/\"$VID\"" ] && [ "$(py "b['status']")" = completed ] || fail "update result"
req PUT "$BASE/Patient/client-chosen-id" '{"resourceType":"Patient","id":"client-chosen-id"}'
expect 201 "update as create"
req DELETE "$BASE/ServiceRequest/$SR"
expect 200 delete
req GET "$BASE/ServiceRequest/$SR"
expect 404 "read after delete"
ok "read ETag, If-Match 412/200, update-as-create 201, delete"

# --- batch / transaction -----------------------------------------------------------------------
req POST "$BASE" '{"resourceType":"Bundle","type":"transaction","entry":[
  {"fullUrl":"urn:uuid:0b7c5e4e-5d1a-4b8e-9a57-2f1f3c2a9d10","resource":{"resourceType":"Patient","active":true},
   "request":{"method":"POST","url":"Patient"}},
  {"resource":{"resourceType":"ServiceRequest","status":"draft","intent":"order",
   "subject":{"reference":"urn:uuid:0b7c5e4e-5d1a-4b8e-9a57-2f1f3c2a9d10"}},"request":{"method":"POST","url":"ServiceRequest"}}]}'
expect 200 transaction
NEWP=$(py "b['entry'][0]['resource']['id']")
[ "$(py "b['entry'][1]['resource']['subject']['reference']")" = "Patient/$NEWP" ] || fail "transaction reference resolution"
ok "transaction with urn:uuid references"

# --- signed-JWT token flow ---------------------------------------------------------------------
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt() { # aud jti [exp-offset]
  local now header claims
  now=$(date +%s)
  header=$(printf '{"alg":"RS512","typ":"JWT","kid":"test-1"}' | b64url)
  claims=$(printf '{"iss":"client-1","sub":"client-1","aud":"%s","jti":"%s","exp":%d}' "$1" "$2" $((now + ${3:-240})) | b64url)
  printf '%s.%s.%s' "$header" "$claims" "$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha512 -sign "$work/key.pem" -binary | b64url)"
}
token_req() {
  STATUS=$(curl -s -o "$work/body" -w '%{http_code}' "$ORIGIN/oauth2/token" \
    --data-urlencode grant_type=client_credentials \
    --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    --data-urlencode "client_assertion=$1")
}
token_req "$(jwt "$ORIGIN/oauth2/token" jti-1)"
expect 200 "token request"
[ "$(py "b['token_type'], b['expires_in']")" = "Bearer 2" ] || fail "token response"
AUTH=$(py "b['access_token']")
req GET "$BASE/Patient/$PATIENT"
expect 200 "read with an issued token"
token_req "$(jwt "$ORIGIN/oauth2/token" jti-1)"
expect 400 "reused jti"
token_req "$(jwt "http://elsewhere/oauth2/token" jti-2)"
expect 400 "wrong aud"
token_req "$(jwt "$ORIGIN/oauth2/token" jti-3 600)"
expect 400 "exp too far ahead"
STATUS=$(curl -s -o "$work/body" -w '%{http_code}' "$ORIGIN/_test/stats")
[ "$(py "b['tokens_issued']")" = 1 ] || fail "stats tokens_issued"
sleep 3
req GET "$BASE/Patient/$PATIENT"
expect 401 "read with an expired token"
ok "token endpoint: issue, use, jti/aud/exp checks, expiry, stats"

# --- rest-hook subscription --------------------------------------------------------------------
AUTH=$TOKEN
req POST "$BASE/Subscription" "{\"resourceType\":\"Subscription\",\"status\":\"requested\",\"reason\":\"test\",
  \"criteria\":\"ServiceRequest?status=active&subject=Patient/$PATIENT\",
  \"channel\":{\"type\":\"rest-hook\",\"endpoint\":\"$HOOK\",\"payload\":\"application/fhir+json\",\"header\":[\"X-Test: yes\"]}}"
expect 201 "create Subscription"
[ "$(py "b['status']")" = active ] || fail "subscription not activated"
req POST "$BASE/ServiceRequest" "{\"resourceType\":\"ServiceRequest\",\"status\":\"draft\",\"intent\":\"order\",\"subject\":{\"reference\":\"Patient/$PATIENT\"}}"
req POST "$BASE/ServiceRequest" "{\"resourceType\":\"ServiceRequest\",\"status\":\"active\",\"intent\":\"order\",\"subject\":{\"reference\":\"Patient/$PATIENT\"}}"
HOOKED=$(py "b['id']")
for _ in $(seq 1 20); do [ -s "$work/hooks.jsonl" ] && break; sleep 0.25; done
sleep 0.5
[ "$(wc -l < "$work/hooks.jsonl")" = 1 ] || fail "expected one rest-hook delivery, got $(wc -l < "$work/hooks.jsonl")"
python3 - "$work/hooks.jsonl" "$HOOKED" <<'EOF' || fail "rest-hook delivery content"
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["type"] == "application/fhir+json", d["type"]
assert d["x_test"] == "yes", d["x_test"]
assert d["resource"]["id"] == sys.argv[2]
EOF
ok "rest-hook delivers only matching writes, with channel headers"

grep -q '?' "$work/server.err" && fail "the server log contains a query string"
echo "selftest: all checks passed"
