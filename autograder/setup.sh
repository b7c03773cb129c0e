#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu):
# install what building and grading the labs needs (harness/deps lists it).
set -eu
source=${SOCKLAB_AUTOGRADER_ROOT:-/autograder}/source
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $("$source/harness/deps" --list grade)
chmod +x "$source/harness/grade" "$source/harness/python" "$source/harness/deps"
