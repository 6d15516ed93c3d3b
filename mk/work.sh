#!/usr/bin/env bash
# work.sh new WORK FROM [FORCE] - copy stage FROM into the workspace WORK
# work.sh status WORK          - say what the workspace holds
# work.sh challenge DIR [FORCE] - copy the challenge into DIR, or say
#                                what DIR holds
#
# The workspace is one file to edit, WORK/hi.c, started from a stage's
# handler; `make work test` then checks it against the next stage's
# expectations. WORK/FROM remembers the stage, and WORK/.original the
# copy as it was made, so that a changed hi.c is never overwritten by
# accident (FORCE=1 allows it).
set -euo pipefail

# stage_folder, stage_title, next_stage, stage_list: the stages' reader.
STAGES_FILE=stages/stages.txt
. stages/stages.sh

# section FILE HEADING: the "## HEADING..." section of a guide, indented.
section() {
    awk -v heading="## $2" '/^## / { printing = index($0, heading) == 1; next } printing' "$1" \
        | sed -e '/./,$!d' -e 's/^/  /'
}

# copy_in SOURCE DIR: DIR/hi.c becomes a copy of SOURCE, and DIR/.original
# remembers it as copied.
copy_in() {
    mkdir -p "$2"
    cp "$1" "$2/hi.c"
    cp "$1" "$2/.original"
}

# changes DIR: ", unchanged so far" or ", with changes of yours".
changes() {
    cmp -s "$1/hi.c" "$1/.original" && echo ', unchanged so far' || echo ', with changes of yours'
}

new() {
    local work=$1 from=$2 force=${3:-} folder next
    folder=$(stage_folder "$from")
    if [ -z "$from" ] || [ -z "$folder" ]; then
        echo "usage: make work FROM=N, where N is a stage: $(stage_list)" >&2
        exit 2
    fi
    if [ -f "$work/hi.c" ] && ! cmp -s "$work/hi.c" "$work/.original" && [ "$force" != 1 ]; then
        echo "work: $work/hi.c has changes of yours (make work diff shows them)." >&2
        echo "  Copy it somewhere first, or overwrite it: make work FROM=$from FORCE=1" >&2
        exit 1
    fi
    copy_in "stages/$folder/hi.c" "$work"
    echo "$from" >"$work/FROM"
    next=$(next_stage "$from")
    echo "$work/hi.c is now stage $from ($folder). Edit it; it is the only file you change."
    if [ -n "$next" ]; then
        echo "make work test checks it as stage $next: $(stage_title "$next")."
    else
        echo "Stage $from is the last one: make work test checks it against stage $from itself,"
        echo "and passes once it runs fewer instructions per request, all else holding."
    fi
    echo
    echo "The exercise (stages/$folder/README.md):"
    section "stages/$folder/README.md" Exercise
    echo
    local checks="stage $from's checks"
    [ -z "$next" ] || checks="stage $next's checks"
    echo "Then: make work test      does it pass $checks?"
    echo "      make work cmp       how fast is it, against stage $from${next:+ and stage $next}?"
    echo "      make work diff      what you changed${next:+;  make work solution: the reference change}"
}

status() {
    local work=$1 from
    if [ ! -f "$work/FROM" ]; then
        echo "There is no workspace yet. make work FROM=N copies stage N's handler into $work/hi.c;"
        echo "the stages are: $(stage_list)."
        exit 0
    fi
    from=$(cat "$work/FROM")
    echo "$work/hi.c started as stage $from ($(stage_folder "$from"))$(changes "$work")."
    echo "make work test | bench | race | instr | profile | cmp | diff | solution"
}

# The challenge: one file, DIR/hi.c, started from challenge/hi.c, kept
# like the workspace (DIR/.original), and its hints' state (DIR/hints.json).
challenge() {
    local dir=$1 force=${2:-}
    if [ -f "$dir/hi.c" ] && [ "$force" != 1 ]; then
        echo "$dir/hi.c is your copy of the challenge$(changes "$dir")."
        echo "make challenge test | hint | solution, or any stage target: bench, instr, profile, ..."
        echo "(FORCE=1 make challenge starts again from challenge/hi.c)"
        return 0
    fi
    copy_in challenge/hi.c "$dir"
    rm -f "$dir/hints.json"
    echo "$dir/hi.c is now the challenge. Edit it; it is the only file you change."
    echo
    section challenge/README.md "The rules"
}

case ${1:-} in
new) new "${2:?work}" "${3:-}" "${4:-}" ;;
status) status "${2:?work}" ;;
challenge) challenge "${2:?dir}" "${3:-}" ;;
*) echo "usage: work.sh new WORK FROM [FORCE] | status WORK | challenge DIR [FORCE]" >&2; exit 2 ;;
esac
