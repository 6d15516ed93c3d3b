# slides_tools.sh - sourced by the scripts that drive Chromium: the slides
# checks, and perf.sh for its flame graph pictures.
#
# find_chromium: prints the Chromium to drive ($CHROMIUM, else Debian's
# binary, else its wrapper, else any on PATH), or nothing.
#
# slides_tools ROOT: sets browser to find_chromium's answer and returns 0
# when the slides check can run here. Otherwise sets missing to what is
# not installed and install to the command that installs it, and returns
# 1, so that the caller can report its test as skipped, with the reason.
#
# chromium_tmpdir ROOT: where Chromium's profile and temporary files may
# go. Ubuntu's Chromium is a snap, confined to the user's home folder with
# a /tmp of its own, so that a page or a profile under the real /tmp is
# not there for it: for a snap, ROOT/out/chromium-tmp; otherwise $TMPDIR
# or /tmp. Prints nothing when the snap cannot read ROOT (a checkout
# outside the home folder).

find_chromium() {
    local candidate
    if [ -n "${CHROMIUM:-}" ]; then echo "$CHROMIUM"; return; fi
    for candidate in /usr/lib/chromium/chromium /usr/bin/chromium; do
        if [ -x "$candidate" ]; then echo "$candidate"; return; fi
    done
    command -v chromium || command -v chromium-browser || true
}

chromium_tmpdir() {
    local root=$1 browser
    browser=$(find_chromium)
    # /snap/bin/chromium is a link to /usr/bin/snap; Ubuntu's
    # chromium-browser is a script that runs it.
    case "$browser $(readlink -f "$browser" 2>/dev/null)" in
    /snap/*|*/bin/snap|*/snap/bin/*)
        case $root/ in
        "$HOME"/*) mkdir -p "$root/out/chromium-tmp" && echo "$root/out/chromium-tmp" ;;
        esac ;;
    *) echo "${TMPDIR:-/tmp}" ;;
    esac
}

slides_tools() {
    local root=$1
    browser=$(find_chromium)
    if [ -z "$browser" ]; then
        missing="Chromium is not installed" install="make deps installs it where it can"
    elif [ -z "$(chromium_tmpdir "$root")" ]; then
        missing="this Chromium is a snap, which reads only files under your home folder"
        install="clone the workbook there"
    elif ! command -v node >/dev/null; then
        missing="node is not installed" install="make deps installs it"
    elif [ ! -f "$root/js/node_modules/playwright-core/package.json" ]; then
        missing="playwright-core is not installed in js/node_modules"
        install="make js/node_modules/.installed installs it"
    else
        return 0
    fi
    return 1
}
