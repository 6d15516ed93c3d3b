#!/usr/bin/env bash
# work.sh new WORK FROM          - copy stage FROM into the workspace WORK
# work.sh status WORK            - say what the workspace holds
# work.sh challenge DIR [FORCE]  - copy the challenge into DIR, or say
#                                  what DIR holds (FORCE=1: copy again)
#
# The workspace is one file to edit, WORK/hi.c, started from a stage's
# handler; `make work test` then checks it with that stage's exercise
# (stages/stages.txt; stages.py criterion says it in words). WORK/FROM
# remembers the stage, and WORK/.original the copy as it was made. A
# hi.c with changes is never lost: a new copy moves it aside first, to
# WORK/hi.fromN.c, and says so.
set -euo pipefail

# stage_folder, checked_as, stage_list: the stages' reader.
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

# keep_aside DIR NAME: when DIR/hi.c has changes, moves it to the first
# free DIR/hi.NAME.c (hi.NAME-2.c, ...) and says where, in one line.
keep_aside() {
    local dir=$1 name=$2 kept number=1
    [ -f "$dir/hi.c" ] && ! cmp -s "$dir/hi.c" "$dir/.original" || return 0
    kept=$dir/hi.$name.c
    while [ -e "$kept" ]; do
        number=$((number + 1))
        kept=$dir/hi.$name-$number.c
    done
    mv "$dir/hi.c" "$kept"
    echo "Your changed $dir/hi.c is kept as $kept."
}

new() {
    local work=$1 from=$2 folder checked
    folder=$(stage_folder "$from")
    if [ -z "$from" ] || [ -z "$folder" ]; then
        echo "usage: make work FROM=N, where N is a stage: $(stage_list)" >&2
        exit 2
    fi
    [ ! -f "$work/FROM" ] || keep_aside "$work" "from$(cat "$work/FROM")"
    copy_in "stages/$folder/hi.c" "$work"
    echo "$from" >"$work/FROM"
    checked=$(checked_as "$from")
    echo "$work/hi.c is now stage $from ($folder). Edit it; it is the only file you change."
    echo
    echo "The exercise (stages/$folder/README.md):"
    section "stages/$folder/README.md" Exercise
    echo "Then: make work test      does it pass, as stage $checked?"
    if [ "$checked" != "$from" ]; then
        echo "      make work cmp       how fast is it, against stage $from and stage $checked?"
        echo "      make work diff      what you changed;  make work solution: the reference change"
    else
        echo "      make work cmp       how fast is it, against stage $from?"
        echo "      make work diff      what you changed;  make work solution: a reference answer"
    fi
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
        echo "(FORCE=1 make challenge starts again from challenge/hi.c, keeping yours aside)"
        return 0
    fi
    keep_aside "$dir" yours
    copy_in challenge/hi.c "$dir"
    rm -f "$dir/hints.json"
    echo "$dir/hi.c is now the challenge. Edit it; it is the only file you change."
    echo
    section challenge/README.md "The rules"
}

case ${1:-} in
new) new "${2:?work}" "${3:-}" ;;
status) status "${2:?work}" ;;
challenge) challenge "${2:?dir}" "${3:-}" ;;
*) echo "usage: work.sh new WORK FROM | status WORK | challenge DIR [FORCE]" >&2; exit 2 ;;
esac
