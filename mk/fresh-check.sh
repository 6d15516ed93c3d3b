#!/usr/bin/env bash
# fresh-check.sh DISTRO OUTDIR - the README's two commands on a new Debian.
#
# For maintainers (make fresh-check DISTRO=bookworm|trixie): bootstraps a
# minimal DISTRO into OUTDIR/root with debootstrap (only ca-certificates,
# git, make and sudo added), makes a user "attendee" with passwordless
# sudo, clones this repository's HEAD into its home, and there, as that
# user, runs `make run` (one request answered, then Ctrl-C) and `make
# test`. Prints one verdict line, and exits 0 only when both passed, no
# file in the checkout ended up owned by root, and apt-get updated its
# lists at most once per command.
#
# Needs root, or sudo, for debootstrap, mount and chroot. The bootstrapped
# system is kept as OUTDIR/minbase.tar (FRESH=1 bootstraps again), so that
# a second check starts from the same untouched system in seconds.
#
# Test plumbing, not the workbook: these build machines reach the package
# registries through a TLS-inspecting proxy, so the new system is given
# the host's extra CA certificates (/usr/local/share/ca-certificates) and
# npm is pointed at the bundle. An attendee's machine needs none of this.
set -euo pipefail
# shellcheck source=../bench/server.sh
. "$(dirname "$0")/../bench/server.sh"      # get_hi, wait_for_line

distro=${1:?usage: fresh-check.sh bookworm|trixie OUTDIR}
outdir=${2:?outdir}
mirror=${MIRROR:-http://deb.debian.org/debian}
repo=$(cd "$(dirname "$0")/.." && pwd)
user=attendee
started=$(date +%s)

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
if [ -n "$sudo" ] && ! sudo -n true 2>/dev/null; then
    echo "fresh-check: needs root for debootstrap and chroot: run it as root, or with sudo allowed" >&2
    exit 2
fi
for tool in debootstrap chroot; do
    command -v $tool >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v $tool >/dev/null || {
        echo "fresh-check: $tool is missing: sudo apt-get install -y debootstrap" >&2; exit 2; }
done
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
root=$outdir/root
log=$outdir/log.txt
: >"$log"

# ============================ The new system ==================================

unmount_all() {
    local point
    for point in dev/pts dev sys proc; do
        mountpoint -q "$root/$point" 2>/dev/null && $sudo umount -l "$root/$point" || true
    done
}
trap unmount_all EXIT

unmount_all
$sudo rm -rf --one-file-system "$root"
if [ "${FRESH:-}" = 1 ] || [ ! -s "$outdir/minbase.tar" ]; then
    echo "fresh-check: debootstrap $distro from $mirror (about a minute)"
    $sudo debootstrap --variant=minbase --include=ca-certificates,git,make,sudo \
        "$distro" "$root" "$mirror" >>"$log" 2>&1 \
        || { tail -n 20 "$log" >&2; echo "fresh-check: debootstrap failed" >&2; exit 1; }
    $sudo tar -C "$root" -cf "$outdir/minbase.tar" .
else
    echo "fresh-check: $distro from $outdir/minbase.tar (bootstrapped earlier; FRESH=1 to redo)"
    $sudo mkdir -p "$root"
    $sudo tar -C "$root" -xf "$outdir/minbase.tar"
fi

$sudo mount -t proc proc "$root/proc"
$sudo mount --rbind /sys "$root/sys"
$sudo mount --bind /dev "$root/dev"
$sudo mount --bind /dev/pts "$root/dev/pts"
$sudo cp /etc/resolv.conf "$root/etc/resolv.conf"

# in_root COMMAND: COMMAND (a shell line) as root inside the new system.
in_root() {
    $sudo chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash -c "$1"
}
# as_user COMMAND: COMMAND as the attendee, in a login shell in the checkout.
as_user() {
    $sudo chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin TERM=dumb \
        /usr/sbin/runuser -l "$user" -c "cd ~/workbook && $1"
}

# The proxy's certificates (see the top of this file).
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    $sudo cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_root 'update-ca-certificates' >>"$log" 2>&1
fi
in_root "useradd -m -s /bin/bash $user && echo '$user ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/$user" >>"$log" 2>&1
echo "cafile=/etc/ssl/certs/ca-certificates.crt" | $sudo tee "$root/home/$user/.npmrc" >/dev/null

# The repository as a clone of this one's HEAD, owned by the attendee.
head=$(git -C "$repo" rev-parse --short HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] \
    || echo "fresh-check: note: uncommitted changes are not checked, only HEAD ($head)"
$sudo git clone -q --no-hardlinks "$repo" "$root/home/$user/workbook"
in_root "chown -R $user:$user /home/$user"
echo "fresh-check: $distro, user $user with sudo, a clone of $head; versions:" \
    "$(in_root '. /etc/os-release; echo $PRETTY_NAME')"

# ============================ The README's two commands =======================

# make run: the server on 127.0.0.1:8080, one request from outside (this
# system shares the host's network), then SIGINT, which must stop it with
# status 0. Installing the build packages comes first, so it may take a
# while to listen.
run_ok=0 answer=""
as_user 'exec make run' >"$outdir/make-run.txt" 2>&1 &
runner=$!
if wait_for_line "$outdir/make-run.txt" '^listening on http://127.0.0.1:8080/hi' $runner 600; then
    answer=$(get_hi 8080)
    # The server runs inside the new root: stop the process named server
    # whose root is that folder, and no other on this machine.
    for proc in /proc/[0-9]*; do
        [ "$(cat "$proc/comm" 2>/dev/null)" = server ] \
            && [ "$($sudo readlink "$proc/root" 2>/dev/null)" = "$root" ] \
            && $sudo kill -INT "${proc#/proc/}" 2>/dev/null
    done
fi
status=0
wait $runner || status=$?
if [[ "$answer" == "HTTP/1.1 200 OK <h1 style='color: red'>Welcome!</h1>You are visitor number 1!" ]] \
   && [ $status = 0 ]; then
    run_ok=1
fi
echo "fresh-check: make run: ${answer:-no answer}, exit status $status"

# make test, timed.
test_start=$(date +%s)
test_status=0
as_user 'make test' >"$outdir/make-test.txt" 2>&1 || test_status=$?
test_seconds=$(( $(date +%s) - test_start ))
summary=$(grep -E '^test: [0-9]+ passed' "$outdir/make-test.txt" | tail -n 1 || true)
[ $test_status = 0 ] || tail -n 30 "$outdir/make-test.txt"

# What must not happen: root-owned files in the checkout, or apt-get
# updating the package lists more than once in a command.
root_owned=$(in_root "find /home/$user/workbook ! -user $user | head -n 3")
updates_run=$(grep -c 'updating the package lists' "$outdir/make-run.txt" || true)
updates_test=$(grep -c 'updating the package lists' "$outdir/make-test.txt" || true)

verdict=PASS
[ $run_ok = 1 ] && [ $test_status = 0 ] && [ -z "$root_owned" ] \
    && [ "$updates_run" -le 1 ] && [ "$updates_test" -le 1 ] || verdict=FAIL
printf 'fresh-check %s: %s: make run answered %s; make test exit %d in %dm%02ds (%s); apt-get update %d+%d; root-owned files: %s; %ds in all\n' \
    "$distro" "$verdict" "$([ $run_ok = 1 ] && echo 200 || echo NOT)" "$test_status" \
    $((test_seconds / 60)) $((test_seconds % 60)) "${summary:-no summary}" \
    "$updates_run" "$updates_test" "${root_owned:-none}" $(( $(date +%s) - started )) | tee "$outdir/verdict.txt"
[ $verdict = PASS ]
