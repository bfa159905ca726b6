#!/bin/sh
# Run make targets side by side (make test: the SQLite and the PostgreSQL pass), each
# line of their output prefixed with the target's name; at the end every target's last
# line (pytest's summary) again, and a failure exit when any of them failed.
set -u
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
for target in "$@"; do
	( ${MAKE:-make} --no-print-directory "$target" 2>&1; echo $? >"$runs/$target.rc" ) |
		tee "$runs/$target.log" | sed -u "s/^/[$target] /" &
done
wait
status=0
for target in "$@"; do
	echo "[$target] $(tail -n 1 "$runs/$target.log")"
	[ "$(cat "$runs/$target.rc")" = 0 ] || status=1
done
exit $status
