#!/usr/bin/env bash
# Checks the direction of dependencies (docs/ARCHITECTURE.md): each layer includes only
# the layers it may use, and each system library is included only where it belongs.
set -u
cd "$(dirname "$0")/../src"
status=0

allowed() { # layer -> the project directories it may include
  case "$1" in
    core) echo "core" ;;
    domain) echo "core domain" ;;
    store) echo "core domain store" ;;
    callout) echo "core domain callout" ;;
    auth) echo "core domain store auth" ;;
    http) echo "core http" ;;
    api) echo "core domain store callout auth http api" ;;
    cli) echo "core domain store callout auth http api cli" ;;
  esac
}

for f in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
  layer=${f%%/*}
  [ "$layer" = "$f" ] && continue # main.c may use anything
  ok=$(allowed "$layer")
  while IFS= read -r inc; do
    dir=${inc%%/*}
    case " $ok " in
      *" $dir "*) ;;
      *) echo "$f: includes \"$inc\", but $layer may only use: $ok"; status=1 ;;
    esac
  done < <(grep -oE '^#include "[^"]+"' "$f" | sed 's/#include "//; s/"$//')
done

only_in() { # header, the one path pattern allowed to include it
  for f in $(grep -rlE "#include <$1>" . | sed 's|^\./||'); do
    case "$f" in
      $2) ;;
      *) echo "$f: includes <$1>, which only $2 may"; status=1 ;;
    esac
  done
}
only_in microhttpd.h 'http/server.c'
only_in sqlite3.h 'store/*sqlite*'
only_in libpq-fe.h 'store/store_pg.c'
only_in 'curl/curl.h' 'callout/*'

[ $status -eq 0 ] && echo "layers: ok"
exit $status
