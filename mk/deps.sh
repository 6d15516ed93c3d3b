#!/usr/bin/env bash
# deps.sh GROUP... - install the Debian packages a group of targets needs.
#
# Every target asks for its group (the Makefile's deps-GROUP), so `make run`
# installs only a compiler, civetweb and pcre2, and the rest arrive when a
# target first needs them. As root this runs apt-get, otherwise sudo;
# without either it prints the exact apt-get line and fails. Once all are
# installed it only asks dpkg, so it costs a few milliseconds and needs no
# network: the workbook then runs offline.
set -euo pipefail

# What each group needs. "optional:" packages are installed where this
# system's package lists have them and skipped, once and with a note,
# where they do not; "optional:a|b" takes the first of a and b that the
# lists have. Ubuntu ships Chromium only as a snap, perf as
# linux-tools-$(uname -r), and from 26.04 no google-perftools (gperftools
# 2.17 dropped its pprof); older Ubuntu releases keep clang's sanitizer
# runtimes in libclang-common-N-dev. What needs a skipped package says
# SKIPPED. (google-pprof needs file: without /usr/bin/file it takes a
# 64-bit program's addresses as 32-bit, and names the wrong functions.)
# "command:" packages are installed only when the command is
# missing: Node.js and npm may come from elsewhere (NodeSource), and
# Debian's npm would then conflict.
packages_of() {
    case $1 in
    build)   echo gcc make pkg-config libc6-dev libcivetweb-dev libpcre2-dev ;;
    test)    echo check clang valgrind patch optional:libclang-rt-dev ;;
    bench)   echo libbenchmark-tools python3-scipy wrk nghttp2-client gnuplot-nox valgrind ;;
    profile) echo optional:google-perftools libgoogle-perftools-dev graphviz gcovr python3-pil file ;;
    perf)    echo "optional:linux-perf|linux-tools-$(uname -r)" strace valgrind librsvg2-bin python3-pil ;;
    fuzz)    echo clang optional:libclang-rt-dev ;;
    slides)  echo pandoc optional:chromium command:node:nodejs command:npm:npm ;;
    web)     echo optional:golang-go optional:golang-github-google-pprof-dev binutils ;;
    *) echo "deps: unknown group $1 (build, test, bench, profile, perf, fuzz, slides, web)" >&2; return 1 ;;
    esac
}

out=${OUT:-out}
# What was skipped is remembered outside out/, so that neither `make
# clean` nor another OPTIMIZE folder sends apt-get to the network again.
# The container image keeps what its build skipped in system_skipped.
skipped_file=$(dirname "$0")/../.deps-skipped
system_skipped=/usr/local/share/workbook/deps-skipped
was_skipped() {
    grep -qxs "$1" "$skipped_file" "$system_skipped"
}

# `make -j` may start several of these at once; apt-get must run alone.
mkdir -p "$out"
exec 9>"$out/deps.lock"
flock 9

# The packages dpkg knows to be installed, asked once: this script runs
# before many targets, and must cost next to nothing.
declare -A is_installed=()
while read -r status package; do
    [ "$status" = installed ] && is_installed[$package]=1
done < <(dpkg-query -W -f='${db:Status-Status} ${Package}\n' 2>/dev/null || true)
installed() {
    [ -n "${is_installed[$1]:-}" ]
}

entries=""
for group in "$@"; do
    entries="$entries $(packages_of "$group")" || exit 1
done
missing="" optional=""
for entry in $entries; do
    case $entry in
    optional:*)
        package=${entry#optional:}
        any_installed=""
        for alternative in ${package//|/ }; do
            installed "$alternative" && any_installed=1
        done
        [ -n "$any_installed" ] || was_skipped "$package" || optional="$optional $package" ;;
    command:*)
        pair=${entry#command:}
        command -v "${pair%%:*}" >/dev/null || missing="$missing ${pair#*:}" ;;
    *)
        installed "$entry" || missing="$missing $entry" ;;
    esac
done
# A package two groups share is asked for once.
missing=$(printf '%s\n' $missing | sort -u | tr '\n' ' ')
optional=$(printf '%s\n' $optional | sort -u | tr '\n' ' ')
[ -z "${missing// }${optional// }" ] && exit 0

skip_optional() {
    printf '%s\n' $optional >>"$skipped_file"
    echo "deps: not installed: $optional($1); what needs them will say SKIPPED"
}
if ! command -v apt-get >/dev/null; then
    [ -z "${missing// }" ] && { skip_optional "no apt-get here"; exit 0; }
    echo "deps: this needs Debian or Ubuntu (apt-get). Missing packages: $missing$optional" >&2
    exit 1
fi
# What to install, as one command that works when pasted: of each
# "a|b", the first (the others are named after it).
first_choices=$(for entry in $missing $optional; do printf '%s ' "${entry%%|*}"; done)
others=$(for entry in $optional; do case $entry in *"|"*) printf '%s ' "${entry#*|}";; esac; done)
wanted="$first_choices${others:+(or instead: ${others//|/ }) }"
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null && sudo true; then
    sudo="sudo"
elif [ -z "${missing// }" ] && ! command -v sudo >/dev/null; then
    skip_optional "no root and no sudo here; an administrator can run: sudo apt-get install -y $wanted"
    exit 0
elif [ -z "${missing// }" ]; then
    # sudo refused this time (a wrong password, no terminal): nothing is
    # remembered as skipped, so the next target asks again.
    echo "deps: sudo was refused; optional packages not installed now: $wanted"
    exit 0
else
    echo "deps: missing packages, and no root or sudo to install them. An administrator can run:" \
         "sudo apt-get install -y $wanted" >&2
    exit 1
fi

# The package lists are updated once, and not again for an hour: make
# test asks for every group, and a slow network should pay for it once.
log=$out/apt.log
updated=$out/apt-updated
# The stamp counts only while the lists are there (a container image
# deletes them; a checkout can bring an old stamp along).
if [ -z "$(find "$updated" -mmin -60 2>/dev/null)" ] \
   || ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    echo "deps: updating the package lists (log: $log)"
    $sudo apt-get update >"$log" 2>&1 || {
        tail -n 5 "$log" >&2
        echo "deps: apt-get update failed. Run: sudo apt-get update" >&2
        exit 1
    }
    touch "$updated"
fi
# has_candidate PACKAGE: whether the package lists offer PACKAGE.
has_candidate() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}
for package in $optional; do
    chosen=""
    for alternative in ${package//|/ }; do
        has_candidate "$alternative" && { chosen=$alternative; break; }
    done
    if [ -n "$chosen" ]; then
        missing="$missing $chosen"
    else
        echo "$package" >>"$skipped_file"
        echo "deps: ${package//|/ or } is not in this system's package lists: skipped"
    fi
done
[ -z "${missing// }" ] && exit 0
echo "deps: installing $missing"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
    >>"$log" 2>&1 || {
    tail -n 5 "$log" >&2
    echo "deps: apt-get failed. Run: sudo apt-get install -y $missing" >&2
    exit 1
}
