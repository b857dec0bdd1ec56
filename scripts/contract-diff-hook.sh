#!/bin/sh
# pre-commit hook `datawatch-contract-diff` (.pre-commit-hooks.yaml): for each
# contract file given, compares its version on the base ref (origin/main, or
# $DATAWATCH_BASE_REF) with the working file through
# `datawatch contract diff OLD NEW --format text`.
# Exit 0 when no file has a breaking change; 1 when one has, or a contract
# cannot be read (the parser's diagnostics are printed). A file the base ref
# does not have is skipped with a note. Runs from the repository's root (as
# pre-commit does); $DATAWATCH names the binary (default: datawatch on PATH).
set -u

datawatch=${DATAWATCH:-datawatch}
base=${DATAWATCH_BASE_REF:-origin/main}

if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
  echo "datawatch-contract-diff: $base does not exist here (git fetch origin main, or set" \
    "DATAWATCH_BASE_REF to the branch to compare with)" >&2
  exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM # stop (the EXIT trap cleans up), never carry on

status=0
for file in "$@"; do
  if ! git cat-file -e "$base:./$file" 2>/dev/null; then
    echo "$file: new file, not on $base: skipped"
    continue
  fi
  old="$tmp/old-$(basename -- "$file")"
  case "$file" in -*) new="./$file" ;; *) new="$file" ;; esac # never read as an option
  git show "$base:./$file" >"$old" || { status=1; continue; }
  echo "== $file (against $base)"
  "$datawatch" contract diff "$old" "$new" --format text
  rc=$?
  if [ "$rc" -ne 0 ]; then
    status=1
    if [ "$rc" -eq 1 ]; then
      echo "$file: breaking changes against $base (see above)" >&2
    else
      echo "$file: cannot compare (exit $rc)" >&2
    fi
  fi
done
exit "$status"
