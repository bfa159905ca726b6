#!/bin/sh
# Run make targets one after the other (make test: the SQLite and the PostgreSQL pass),
# each line of their output prefixed with the target's name; every target runs even
# when one before it failed. At the end every target's last line (pytest's summary)
# again, and a failure exit when any of them failed.
#
# One after the other, not side by side: two passes of two processes each on a
# two-core machine took 840 s together, one after the other 740 s (the tests talk to
# servers in their own process; four processes on two cores wait for each other on
# every round trip).
set -u
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
for target in "$@"; do
	( ${MAKE:-make} --no-print-directory "$target" 2>&1; echo $? >"$runs/$target.rc" ) |
		tee "$runs/$target.log" | sed -u "s/^/[$target] /"
done
status=0
for target in "$@"; do
	echo "[$target] $(tail -n 1 "$runs/$target.log")"
	[ "$(cat "$runs/$target.rc")" = 0 ] || status=1
done
exit $status
