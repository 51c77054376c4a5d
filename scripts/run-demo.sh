#!/usr/bin/env bash
# `make run`: the server on ./actionlinks.db with a demo org. On a new database it creates
# the user 'demo' (password 'demo'), a connected app, and a few posts whose action links
# call a small demo endpoint (scripts/demo-endpoint.py, on 127.0.0.1:8081). Every start
# issues a fresh token and prints how to sign in and a ready-to-paste curl example.
set -euo pipefail

bin=${1:-build/actionlinks}
db=${ACTIONLINKS_DB:-./actionlinks.db}
listen=${ACTIONLINKS_LISTEN:-127.0.0.1:8080}
demo_port=${DEMO_ENDPOINT_PORT:-8081}
base="http://${listen}"
endpoint="http://127.0.0.1:${demo_port}"
new=0

if [ ! -e "$db" ]; then
  new=1
  echo demo | "$bin" user add demo --name "Demo User" --password-stdin --db "$db" >/dev/null
  echo friend | "$bin" user add friend --name "A Friend" --password-stdin --db "$db" >/dev/null
  "$bin" app add demo-app --db "$db" >/dev/null
fi
token=$("$bin" token issue demo --app demo-app --ttl 2592000 --db "$db")

python3 "$(dirname "$0")/demo-endpoint.py" "$demo_port" &
endpoint_pid=$!
# The demo's links call the demo endpoint over http on 127.0.0.1: these two flags allow
# exactly that (a real deployment calls https endpoints and needs neither).
"$bin" serve --db "$db" --listen "$listen" --allow-http-callouts \
  --callout-allow 127.0.0.1/32 &
server_pid=$!
trap 'kill $server_pid $endpoint_pid 2>/dev/null; wait $server_pid 2>/dev/null' INT TERM EXIT

for _ in $(seq 100); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
if [ "$new" = 1 ]; then
  python3 "$(dirname "$0")/demo-seed.py" "$base" "$token" "$endpoint"
fi
expires=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%S.000Z)

cat <<MSG

actionlinks is running on $base (database $db). Ctrl-C stops it.

Open $base/ and sign in as demo / demo (or friend / friend, in another browser window,
to watch a Once link change on both).

Demo access token for user 'demo' (valid 30 days):
  $token

Try the API: create an action link group with one Ui link, then invoke the link:

LINK=\$(curl -s -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' -d '{"category":"Primary","executionsAllowed":"OncePerUser","expirationDate":"$expires","actionLinks":[{"actionType":"Ui","actionUrl":"https://example.com/welcome","method":"HttpGet","labelKey":"Open","requiresConfirmation":false}]}' $base/services/data/v66.0/connect/action-link-group-definitions | grep -o '"id":"0An[A-Za-z0-9]*"' | cut -d'"' -f4) && curl -s -X PATCH -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' -d '{"status":"SuccessfulStatus"}' $base/services/data/v66.0/connect/action-links/\$LINK; echo

MSG
wait $server_pid
