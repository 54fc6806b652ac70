#!/bin/bash
# The make targets a user reads about are the Makefile's: every `make X` in
# the README's targets table and in `make help` is a target make knows
# (`make -n X` plans it without error), and every user-facing target the
# Makefile declares .PHONY is in both the README table and `make help`
# (internal ones, listed in INTERNAL below, excepted).
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need make
lib_init
cd "$REPO" || exit 1
# plan as a user would, not as a sub-make of the make running this test
unset MAKEFLAGS MFLAGS MAKELEVEL

INTERNAL="all progs fuzz-cc"

# the README's "Other targets" table: its first column's `make X` words
readme_targets() {
	sed -n '/^## Other targets/,/^## \|^Production deployment/p' README.md |
		grep '^| `' | cut -d'|' -f2 | grep -o 'make [a-z-]*' | awk '{print $2}' |
		grep -v '^$' | sort -u
}
help_targets() { make --no-print-directory help | grep -o '^make [a-z-]*' | awk '{print $2}' | sort -u; }
phony_targets() {
	sed -n '/^\.PHONY:/,/^$/p' Makefile | tr -d '\\' | sed 's/^\.PHONY://' |
		tr ' \t' '\n\n' | grep -v '^$' | sort -u
}

plans() { make -n --no-print-directory "$1" >"$TMP/plan.$1" 2>&1; }

R=$(readme_targets)
H=$(help_targets)
P=$(phony_targets)
check "the README's table names targets" test -n "$R"
check "make help names targets" test -n "$H"
for t in $(printf '%s\n%s\n' "$R" "$H" | sort -u); do
	check "make $t is a target (make -n $t)" plans "$t"
done
for t in $P; do
	case " $INTERNAL " in *" $t "*) continue ;; esac
	check ".PHONY target $t is in the README's table" grep -qx "$t" <<<"$R"
	check ".PHONY target $t is in make help" grep -qx "$t" <<<"$H"
done
lib_done
