#!/usr/bin/env bash
# hardened_build.sh OUTDIR CFLAGS... - every C file of the workbook, compiled
# the way Ubuntu's compilers compile it by default.
#
# Ubuntu's gcc and clang turn on -D_FORTIFY_SOURCE=3, -fstack-protector-strong,
# -fstack-clash-protection and -fcf-protection without being asked, and
# fortified glibc then warns where a result is ignored (read(), say). This
# compiles each file (-c, to OUTDIR) with those flags added to CFLAGS,
# under gcc and clang, so that CI (WERROR=1 makes warnings errors) notices
# before an attendee on Ubuntu does. Prints one line per compiler and
# what failed; exits 1 when a file did not compile.
set -uo pipefail

outdir=${1:?usage: hardened_build.sh OUTDIR CFLAGS...}
shift
ubuntu_defaults=(-D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection)
# Control-flow protection is per architecture: CET on x86-64, BTI and
# pointer authentication on arm64.
case $(uname -m) in
x86_64) ubuntu_defaults+=(-fcf-protection) ;;
aarch64) ubuntu_defaults+=(-mbranch-protection=standard) ;;
esac
# What the Makefile defines for a suite, a benchmark or the preload
# library, so that each file compiles alone.
suite_defines=(-DSTAGE=1 -DSTAGE_RACE_FREE=0 -DSTAGE_RACE_REPORTED=1 '-DUNIT_NAME="hardened"')
files=(stages/*/hi.c challenge/hi.c challenge/solution/hi.c common/*.c bench/*.c $(ls tests/*.c | grep -v fuzz_hi.c) profiles/contention.c)
mkdir -p "$outdir"
status=0
for cc in gcc clang; do
    command -v $cc >/dev/null || { echo "hardened build: $cc is not installed, skipped"; continue; }
    failed=()
    for file in "${files[@]}"; do
        object=$outdir/$cc-$(echo "$file" | tr / -).o
        extra=()
        [ "$file" = profiles/contention.c ] && extra=(-fPIC)
        if ! $cc "$@" "${ubuntu_defaults[@]}" "${suite_defines[@]}" "${extra[@]}" -c "$file" -o "$object" \
               >"$object.log" 2>&1; then
            failed+=("$file")
            cat "$object.log"
        elif [ -s "$object.log" ]; then
            cat "$object.log"            # warnings, shown; errors only with WERROR=1
        fi
    done
    if [ ${#failed[@]} = 0 ]; then
        echo "hardened build: ${#files[@]} files compile under $cc with Ubuntu's default flags"
    else
        echo "FAIL: hardened build: under $cc with Ubuntu's default flags, ${#failed[@]} of ${#files[@]} files did not compile: ${failed[*]}"
        status=1
    fi
done
exit $status
