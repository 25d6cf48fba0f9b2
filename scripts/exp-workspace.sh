#!/usr/bin/env bash
# Lets DVC's temporary experiment workspaces (`dvc exp run --temp`, and
# `dvc exp run --queue` + `dvc queue start`, which run in the same kind of
# copy) see the datasets. Run it once per clone (again if data.root moves).
#
# Why: DVC runs such an experiment in a copy of the repository,
# .dvc/tmp/exps/<tmpdir>/ (a queued one) or .dvc/tmp/exps/standalone/<tmpdir>/
# (--temp), and resolves the ingest stage's dependency `${data.root}` there. A
# relative data.root such as the default ../shared/datasets then points at
# .dvc/tmp/exps/shared/datasets (or .../standalone/shared/datasets), which does
# not exist, and the experiment fails at ingest. This script puts a symbolic
# link to the real folder at both places,
# so the path resolves inside every temporary workspace with the value
# params.yaml already has: no change to data.root, params or dvc.lock, and the
# link lives under .dvc/tmp (never committed). An absolute data.root needs
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

root=$(python3 -c 'import yaml; print(yaml.safe_load(open("params.yaml"))["data"]["root"])')
case "$root" in
/*) echo "exp-workspace: data.root $root is absolute; nothing to do"; exit 0 ;;
esac
real=$(realpath -e "$root") || { echo "exp-workspace: data.root $root does not exist from $(pwd)" >&2; exit 1; }
# Where "$root" lands when resolved from a temporary workspace: the queue's
# workers use .dvc/tmp/exps/<tmpdir>, `--temp` .dvc/tmp/exps/standalone/<tmpdir>
# (DVC 3.67's layout; .ci/run's remote check would catch a change).
for parent in .dvc/tmp/exps .dvc/tmp/exps/standalone; do
  link=$(python3 -c 'import os, sys; print(os.path.normpath(os.path.join(sys.argv[1], "tmpdir", sys.argv[2])))' "$parent" "$root")
  case "$link" in
  "$parent"/tmpdir* | ../*) echo "exp-workspace: data.root $root resolves to $link from a temp workspace; use an absolute data.root" >&2; exit 1 ;;
  esac
  mkdir -p "$(dirname "$link")"
  ln -sfn "$real" "$link"
  echo "exp-workspace: $link -> $real"
done
echo "exp-workspace: data.root $root now resolves in DVC's temporary experiment workspaces"
