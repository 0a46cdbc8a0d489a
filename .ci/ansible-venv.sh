#!/usr/bin/env bash
# A Python virtual environment at target/ansible-venv with pinned
# ansible-core and ansible-lint from PyPI, for tests/it/ansible_role.rs
# (the contrib/ansible role run against sample roots) and for linting
# contrib/ansible. Idempotent: does nothing when the pinned versions are
# already there. On Debian's own python3 the venv module comes with the
# python3-venv package.
set -euo pipefail
cd "$(dirname "$0")/.."

ANSIBLE_CORE_VERSION=2.19.14 # the newest ansible-core that runs on Python 3.11
ANSIBLE_LINT_VERSION=26.10.1
VENV=target/ansible-venv
PYTHON=${PYTHON:-python3}

want="ansible-core==$ANSIBLE_CORE_VERSION ansible-lint==$ANSIBLE_LINT_VERSION"
stamp=$VENV/.soclash-pins
if [ -x "$VENV/bin/ansible-playbook" ] && [ -x "$VENV/bin/ansible-lint" ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "ansible-venv: $want already in $VENV"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV"; then
    rm -rf "$VENV"
    echo "ansible-venv: '$PYTHON -m venv' failed; on Debian install python3-venv (apt-get install python3-venv)" >&2
    exit 1
  fi
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install --quiet "ansible-core==$ANSIBLE_CORE_VERSION" "ansible-lint==$ANSIBLE_LINT_VERSION"
echo "$want" >"$stamp"
"$VENV/bin/ansible-playbook" --version | sed -n 1p
"$VENV/bin/ansible-lint" --version | sed -n 1p
