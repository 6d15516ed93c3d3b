#!/usr/bin/env bash
# container-check.sh ARCH OUTDIR - the README's container lines, checked.
#
# For maintainers (make container-check ARCH=amd64|arm64): builds the
# image from the Containerfile for linux/ARCH with podman, then, inside it
# as the image's user, with this repository's HEAD mounted at /workbook:
#   1. `make run` in a container whose port 8080 is published on the
#      host's 127.0.0.1:18080, and one request sent from the host side;
#   2. `make test` in a container with no network at all (--network=none),
#      which proves that the image holds everything the workbook needs;
#   3. `make stage1 web`, with no network, its port 8081 published on the
#      host's 127.0.0.1:18081: pprof's viewer, fetched from the host.
# Prints one verdict line, with the time each step took.
#
# ARCH=arm64 on an amd64 machine runs under qemu-user-static (binfmt_misc),
# some fifty times slower: there step 2 is the part of make test that
# says what a stage is on arm64 (TESTS, by default the suites of stages 1
# and 6, the race demo, every stage's instruction lesson, and the
# challenge as given and solved: its suite and its measured problems);
# the line says what ran. QEMU_CPU=cortex-a72 there, for valgrind (its
# cache-line check fails on qemu's default CPU model).
#
# Test plumbing, not the workbook: no container registry is reachable from
# these machines, so the base image debian:trixie is made here with
# debootstrap and `podman import`; and npm is reached through a
# TLS-inspecting proxy, so the host's CA certificates are handed to the
# build as the secret npm_ca (never baked into the image). podman runs
# with runc and without default ulimits (a settings file under OUTDIR).
set -euo pipefail
# shellcheck source=../bench/server.sh
. "$(dirname "$0")/../bench/server.sh"      # get_hi, wait_for_line

arch=${1:?usage: container-check.sh amd64|arm64 OUTDIR}
outdir=${2:?outdir}
repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${MIRROR:-http://deb.debian.org/debian}
image=localhost/workbook:$arch
base=docker.io/library/debian:trixie
export PATH=$PATH:/usr/sbin:/sbin
[ "$(id -u)" = 0 ] || { echo "container-check: run it as root (podman import, debootstrap)" >&2; exit 2; }
for tool in podman runc debootstrap; do
    command -v $tool >/dev/null || { echo "container-check: sudo apt-get install -y podman runc debootstrap" >&2; exit 2; }
done
host_arch=$(dpkg --print-architecture)
emulated=""
if [ "$arch" != "$host_arch" ]; then
    emulated=1
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 2>/dev/null || true
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || {
        echo "container-check: $arch needs qemu-user-static and binfmt-support (binfmt_misc mounted)" >&2; exit 2; }
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
log=$outdir/log.txt
: >"$log"
export CONTAINERS_CONF=$outdir/containers.conf
printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
step_start=$(date +%s)
times=()
step_done() {   # step_done NAME: notes how long the step took
    local now
    now=$(date +%s)
    times+=("$1 $((now - step_start))s")
    step_start=$now
}

# ============================ The base image ==================================

base_tar=$outdir/trixie-$arch.tar
if [ ! -s "$base_tar" ]; then
    echo "container-check: debootstrap trixie for $arch (a few minutes${emulated:+, emulated})"
    rm -rf "$outdir/base-root"
    debootstrap --variant=minbase --arch="$arch" trixie "$outdir/base-root" "$mirror" >>"$log" 2>&1 \
        || { tail -n 20 "$log" >&2; echo "container-check: debootstrap failed" >&2; exit 1; }
    tar -C "$outdir/base-root" -cf "$base_tar" .
    rm -rf "$outdir/base-root"
fi
# One tag serves both architectures in turn: imported again only when the
# one there is the other's, so that a second check reuses the build cache.
if [ "$(podman image inspect "$base" --format '{{.Architecture}}' 2>/dev/null)" != "$arch" ]; then
    podman rmi -f "$base" >/dev/null 2>&1 || true
    podman import --arch "$arch" "$base_tar" "$base" >>"$log" 2>&1
fi
step_done base

# ============================ The image =======================================

# The build context: a clean clone of HEAD, as an attendee would have it.
rm -rf "$outdir/workbook"
git clone -q --no-hardlinks "$repo" "$outdir/workbook"
head=$(git -C "$outdir/workbook" rev-parse --short HEAD)
cat /usr/local/share/ca-certificates/*.crt >"$outdir/npm_ca.pem" 2>/dev/null || : >"$outdir/npm_ca.pem"
echo "container-check: podman build --arch $arch (clone of $head)"
podman build --arch "$arch" --secret id=npm_ca,src="$outdir/npm_ca.pem" -t "$image" \
    -f "$outdir/workbook/Containerfile" "$outdir/workbook" >"$outdir/build.txt" 2>&1 \
    || { tail -n 30 "$outdir/build.txt" >&2; echo "container-check: the image did not build" >&2; exit 1; }
step_done build
# The checkout belongs to the image's user (uid 1000), as a Linux host's would.
chown -R 1000:1000 "$outdir/workbook"

# run_in ARGS... -- COMMAND: COMMAND in the image, as its user, the checkout
# mounted. bash stays the container's PID 1 (the "; exit" keeps it from
# exec'ing the command), so that orphans are reaped by a shell, as in the
# interactive container the README starts, and not by make.
run_in() {
    local options=()
    while [ "$1" != -- ]; do options+=("$1"); shift; done
    shift
    podman run --rm --arch "$arch" -v "$outdir/workbook:/workbook" \
        ${emulated:+-e QEMU_CPU=cortex-a72} "${options[@]}" "$image" bash -lc "$*; exit \$?"
}

# ============================ make run ========================================

rm -f "$outdir/make-run.txt"
run_in --name workbook-run-$arch -p 127.0.0.1:18080:8080 -- 'make run' >"$outdir/make-run.txt" 2>&1 &
runner=$!
answer=""
if wait_for_line "$outdir/make-run.txt" '^listening on' $runner 900; then
    for _ in 1 2 3 4 5; do
        answer=$(get_hi 18080 20)
        [ -n "$answer" ] && break
        sleep 1
    done
fi
# Ctrl-C in a terminal reaches the whole foreground group; here the
# server is sent SIGINT itself (make, as the container's PID 1, would
# ignore a signal sent to it alone).
podman exec workbook-run-$arch pkill -INT -x server >/dev/null 2>&1 \
    || podman kill --signal INT workbook-run-$arch >/dev/null 2>&1 || true
run_status=0
wait $runner || run_status=$?
listening=$(grep -m1 '^listening on' "$outdir/make-run.txt" || true)
run_ok=0
[[ "$answer" == "HTTP/1.1 200 OK <h1 style='color: red'>Welcome!</h1>You are visitor number 1!" ]] \
    && [ $run_status = 0 ] && run_ok=1
echo "container-check: make run: ${listening:-never listened}; from the host: ${answer:-no answer}; exit status $run_status"
step_done run

# ============================ make test, offline ==============================

if [ -n "$emulated" ]; then
    default="stage1-suite stage6-suite stage1-race $(printf 'stage%s-lesson ' 1 2 3 4 5 6)"
    default+="challenge-given-test challenge-solved-test"
    tests=${TESTS:-$default}
    command="make -k $tests"
else
    tests="make test"
    command="make test"
fi
test_status=0
run_in --network=none -- "$command" >"$outdir/make-test.txt" 2>&1 || test_status=$?
step_done test
if [ -n "$emulated" ]; then
    # The race demo fails on purpose (stage 1 keeps its race): what counts
    # is that it reported the race and the harm.
    suites=$(grep -c '^100%: Checks' "$outdir/make-test.txt" || true)
    lessons=$(grep -c "^PASS: stage .*'s lesson" "$outdir/make-test.txt" || true)
    raced=$(grep -c 'ThreadSanitizer reported a data race' "$outdir/make-test.txt" || true)
    failed=$(grep -E '^(FAIL|.*:[0-9]+:[EF]:)' "$outdir/make-test.txt" | grep -vc 'reported a data race' || true)
    # The challenge's two verdicts: every problem seen as given, none left
    # in the solution (a problem whose tool cannot run here is skipped).
    challenges=$(grep -cE '^PASS: challenge .*problems measured are (there|fixed)' "$outdir/make-test.txt" || true)
    expected_challenges=$(grep -o -- 'challenge-[a-z]*-test' <<<"$tests" | wc -l)
    summary="$suites suites at 100%, race demo $([ "$raced" -ge 1 ] && echo reported || echo MISSING), $lessons of 6 lessons"
    summary+=", $challenges of $expected_challenges challenge verdicts"
    test_ok=0
    # A challenge's test runs its suite too.
    expected_suites=$(( $(grep -o -- '-suite' <<<"$tests" | wc -l) + expected_challenges ))
    [ "$suites" = "$expected_suites" ] && [ "$raced" -ge 1 ] && [ "$lessons" = 6 ] && [ "$failed" = 0 ] \
        && [ "$challenges" = "$expected_challenges" ] && test_ok=1
else
    summary=$(grep -E '^test: [0-9]+ passed' "$outdir/make-test.txt" | tail -n 1 || echo "no summary")
    test_ok=0
    [ $test_status = 0 ] && test_ok=1
fi
[ $test_ok = 1 ] || tail -n 30 "$outdir/make-test.txt"

# ============================ make stage1 web =================================
# pprof's viewer. First with no network inside: the viewer built and the
# profiles recorded offline (WEB_RECORD_ONLY=1 stops before serving).
# Then served, published on the host's 127.0.0.1:18081 (podman discards
# -p with --network=none, and pprof's page loads nothing from outside):
# its flame graph page, fetched from the host, must hold stage 1's
# pcre2_compile_8.

web_ok=0 web_seen="no answer"
if ! run_in --network=none -e WEB_RECORD_ONLY=1 -- 'make stage1 web' >"$outdir/make-web-offline.txt" 2>&1; then
    web_seen="make stage1 web failed with no network ($outdir/make-web-offline.txt)"
fi
run_in --name workbook-web-$arch -p 127.0.0.1:18081:8081 -- 'make stage1 web' \
    >"$outdir/make-web.txt" 2>&1 &
web_runner=$!
if [ "$web_seen" != "no answer" ]; then
    :
elif wait_for_line "$outdir/make-web.txt" '^Serving web UI' $web_runner 600; then
    page=$(python3 -c 'import urllib.request; print(urllib.request.urlopen(
        "http://127.0.0.1:18081/ui/flamegraph", timeout=60).read().decode())' 2>&1 || true)
    if grep -q '"n":"pcre2_compile_8"' <<<"$page"; then
        web_ok=1 web_seen="its flame graph, with pcre2_compile_8"
    else
        web_seen="a page without pcre2_compile_8"
    fi
elif grep -q 'SKIPPED' "$outdir/make-web.txt"; then
    web_ok=1 web_seen="SKIPPED: $(grep -m1 SKIPPED "$outdir/make-web.txt")"
fi
podman kill workbook-web-$arch >/dev/null 2>&1 || true
wait $web_runner 2>/dev/null || true
echo "container-check: make stage1 web: from the host, $web_seen"
[ $web_ok = 1 ] || tail -n 20 "$outdir/make-web.txt"
step_done web

verdict=PASS
[ $run_ok = 1 ] && [ $test_ok = 1 ] && [ $web_ok = 1 ] || verdict=FAIL
echo "container-check $arch${emulated:+ (emulated)}: $verdict: make run answered from the host $([ $run_ok = 1 ] && echo 200 || echo NOT);" \
    "${tests} with no network: ${summary}; make stage1 web: ${web_seen}; times: ${times[*]}" \
    | tee "$outdir/verdict.txt"
[ $verdict = PASS ]
