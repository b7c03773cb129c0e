# socklab: build, grade and test the socket-programming labs.  `make help` lists targets.
#
# Every lab is a directory labs/NN-name/ with a grader package harness/labs/labNN_name/.
# Each .c file there with a main() is a program (built into build/TREE/NN-name/PROG);
# its other .c files are units linked into every program, and test_*.c files are cmocka
# unit tests. harness/programs/build.py does all compiling (for grading too), so adding
# a lab never means editing this file.

SHELL    := /bin/sh
BUILD  ?= build
LAB    ?=
IMPL   ?= labs
JOBS   ?=
FORMAT ?=
PYTHON  = "$$(harness/python)"
BUILDER = PYTHONPATH=. $(PYTHON) -m harness.programs.build --out $(BUILD) \
	$(if $(WERROR),--werror) $(if $(SANITIZE),--sanitize)

FUZZ_SECONDS ?= 300
# What `make fuzz` fuzzes: the reference codec, or yours with FUZZ_IMPL=labs.
FUZZ_IMPL ?= $(if $(wildcard solutions),solutions,labs)

FLAKE_ARGS ?=
BENCH_ARGS ?=

.PHONY: all help deps grade test unit fuzz bench flake clean slides demo autograder autolab \
	prairielearn student-dist
.DEFAULT_GOAL := all

all:
	@$(BUILDER)

help:
	@echo 'make [WERROR=1] [SANITIZE=1]  build every lab program (skeletons and solutions) into build/'
	@echo 'make grade [LAB=NN] [IMPL=labs|solutions|DIR] [FORMAT=json] [JOBS=N]'
	@echo '                          build and grade; IMPL=labs (your work) by default'
	@echo 'make unit [IMPL=labs]     run the cmocka unit tests (labs/common, lab units)'
	@echo 'make test                 the repository'"'"'s own tests (what CI runs)'
	@echo 'make fuzz [FUZZ_SECONDS=300] [FUZZ_IMPL=labs]'
	@echo '                          libFuzzer over the lab 07 NTP decoder and validator'
	@echo 'make bench                how fast grading is: wall times, floor, overhead, class, lab 06,'
	@echo '                          and every lab on one busy CPU against the platforms'"'"' limits'
	@echo 'make flake [FLAKE_ARGS=--busy]  grade the solutions 30 times, a few mutants 10; report any flip'
	@echo 'make slides               render every deck in slides/ to build/slides/ (HTML; PDF with Chromium)'
	@echo 'make demo LAB=NN [EXPERIMENT=name] [IMPL=labs]'
	@echo '                          run a lab'"'"'s two sides in a lab network and show the packets;'
	@echo '                          the reference solution unless IMPL is given; `make demo` lists them'
	@echo 'make deps                 install the Debian packages everything needs'
	@echo 'make autograder           build/autograder.zip for Gradescope (hidden tests, no solutions)'
	@echo 'make autolab              build/autolab/: autograde.tar and autograde-Makefile for Autolab'
	@echo 'make prairielearn         build/prairielearn/: the grader image context and a question per lab'
	@echo 'make student-dist DEST=DIR  the repository for students: no solutions, no hidden tests'
	@echo 'make clean                remove build/'

deps:
	@harness/deps all

grade:
	@harness/deps grade
	@harness/grade $(if $(LAB),--lab $(LAB)) --impl $(IMPL) $(if $(FORMAT),--format $(FORMAT)) $(if $(JOBS),--jobs $(JOBS))

unit:
	@$(BUILDER) --units --run --tree $(IMPL)

test:
	@harness/deps test
	@tests/run

bench:
	@harness/deps test
	@"$$(harness/python)" tests/bench/bench.py $(BENCH_ARGS)
	@"$$(harness/python)" tests/bench/budget.py
	@"$$(harness/python)" tests/bench/uml.py

flake:
	@harness/deps test
	@"$$(harness/python)" tests/bench/flake.py $(FLAKE_ARGS)

fuzz:
	@harness/deps test
	@tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_IMPL)

slides:
	@harness/deps slides
	@slides/render $(BUILD)/slides

# Demos run the reference solutions unless IMPL is given on the command line;
# a student copy has none, so there they run your labs.
DEMO_IMPL = $(if $(filter command line,$(origin IMPL)),$(IMPL),$(if $(wildcard solutions),solutions,labs))
demo:
	@harness/deps grade
	@harness/demo $(if $(LAB),$(LAB),--list) $(EXPERIMENT) --impl $(DEMO_IMPL)

autograder:
	@harness/python >/dev/null && PYTHONPATH=. "$$(harness/python)" -m harness.commands.dist autograder $(BUILD)/autograder.zip

autolab:
	@harness/python >/dev/null && PYTHONPATH=. "$$(harness/python)" -m harness.commands.dist autolab $(BUILD)/autolab

prairielearn:
	@harness/python >/dev/null && PYTHONPATH=. "$$(harness/python)" -m harness.commands.dist prairielearn $(BUILD)/prairielearn

student-dist:
	@test -n "$(DEST)" || { echo 'usage: make student-dist DEST=DIR' >&2; exit 2; }
	@PYTHONPATH=. "$$(harness/python)" -m harness.commands.dist student "$(DEST)"

clean:
	rm -rf $(BUILD)
