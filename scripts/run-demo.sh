#!/usr/bin/env bash
# `make run`: on a new database, creates the demo org's user and app; then issues a
# fresh token, prints a ready-to-paste curl example, and starts the server.
set -euo pipefail

bin=${1:-build/actionlinks}
db=${ACTIONLINKS_DB:-./actionlinks.db}
listen=${ACTIONLINKS_LISTEN:-127.0.0.1:8080}
base="http://${listen}"

if [ ! -e "$db" ]; then
  "$bin" user add demo --name "Demo User" --db "$db" >/dev/null
  "$bin" app add demo-app --db "$db" >/dev/null
  echo "created $db with the user 'demo' and the connected app 'demo-app'"
fi
token=$("$bin" token issue demo --app demo-app --ttl 2592000 --db "$db")
expires=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%S.000Z)

cat <<MSG

Demo access token for user 'demo' (valid 30 days):
  $token

Try it: create an action link group with one Ui link, then invoke the link:

LINK=\$(curl -s -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' -d '{"category":"Primary","executionsAllowed":"OncePerUser","expirationDate":"$expires","actionLinks":[{"actionType":"Ui","actionUrl":"https://example.com/welcome","method":"HttpGet","labelKey":"Open","requiresConfirmation":false}]}' $base/services/data/v66.0/connect/action-link-group-definitions | grep -o '"id":"0An[A-Za-z0-9]*"' | cut -d'"' -f4) && curl -s -X PATCH -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' -d '{"status":"SuccessfulStatus"}' $base/services/data/v66.0/connect/action-links/\$LINK; echo

MSG
exec "$bin" serve --db "$db" --listen "$listen"
