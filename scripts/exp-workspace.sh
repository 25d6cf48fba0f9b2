#!/usr/bin/env bash
# Lets DVC's temporary experiment workspaces (`dvc exp run --temp`, and
# `dvc exp run --queue` + `dvc queue start`, which run in the same kind of
# copy) see the datasets. Run it once per clone (again if data.root moves).
#
# Why: DVC runs such an experiment in .dvc/tmp/exps/<tmpdir>/, a copy of the
# repository, and resolves the ingest stage's dependency `${data.root}` there.
# A relative data.root such as the default ../shared/datasets then points at
# .dvc/tmp/exps/shared/datasets, which does not exist, and the experiment
# fails at ingest. This script puts a symbolic link there to the real folder,
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
# Where "$root" lands when resolved from .dvc/tmp/exps/<tmpdir>/.
link=$(python3 -c 'import os, sys; print(os.path.normpath(os.path.join(".dvc/tmp/exps/tmpdir", sys.argv[1])))' "$root")
case "$link" in
.dvc/tmp/exps/tmpdir* | ../*) echo "exp-workspace: data.root $root resolves to $link from a temp workspace; use an absolute data.root" >&2; exit 1 ;;
esac
mkdir -p "$(dirname "$link")"
ln -sfn "$real" "$link"
echo "exp-workspace: $link -> $real (data.root $root resolves in DVC's temporary workspaces)"
