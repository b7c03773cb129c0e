# socklab: build, grade and test the socket-programming labs.  `make help` lists targets.
#
# Every lab is a directory labs/NN-name/ whose program is name with '-' -> '_'
# (01-udp-local -> udp_local, built from udp_local.c plus any other .c there).
# Files test_*.c beside it are cmocka unit tests of the lab's other units.
# Labs are found by wildcard, so adding a lab never means editing this file.

SHELL    := /bin/sh
CC       ?= cc
CFLAGS   ?= -O1 -g
WARNINGS := -std=c11 -Wall -Wextra -Wpedantic
ifdef WERROR
WARNINGS += -Werror
endif
ifdef SANITIZE
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
CPPFLAGS := -D_DEFAULT_SOURCE -Ilabs/common
ALL_CFLAGS = $(CPPFLAGS) $(WARNINGS) $(CFLAGS) $(SAN_FLAGS)
LDLIBS   := -lm

BUILD  ?= build
LAB    ?=
IMPL   ?= labs
JOBS   ?=
FORMAT ?=
COMMON := labs/common/socklab.c labs/common/socklab.h

empty :=
space := $(empty) $(empty)
# lab_dirs TREE: the lab directories (NN-name) of a source tree.
lab_dirs = $(sort $(patsubst $(1)/%/,%,$(wildcard $(1)/[0-9][0-9]-*/)))
# prog_of LAB: 01-udp-local -> udp_local
prog_of = $(subst $(space),_,$(wordlist 2,99,$(subst -, ,$(1))))
# tests_dir TREE LAB: where a lab's unit tests are: the tree's own, or else labs/
# (a solution shares the skeleton's tests and headers rather than copying them).
tests_dir = $(if $(wildcard $(1)/$(2)/test_*.c),$(1)/$(2),labs/$(2))
# units_of TREE LAB: the lab's .c files that are neither its main program nor tests.
units_of = $(filter-out $(1)/$(2)/$(call prog_of,$(2)).c $(1)/$(2)/test_%.c,$(wildcard $(1)/$(2)/*.c))

# lab_rules TREE OUT LAB: how to build one lab's program and unit tests. A program
# is linked under a mktemp name and renamed, so two graders sharing build/ never
# run a half-written binary ($$ is no unique name: graders have PID namespaces).
define lab_rules
$(2)/$(3)/$(call prog_of,$(3)): $(1)/$(3)/$(call prog_of,$(3)).c $(call units_of,$(1),$(3)) $(wildcard $(1)/$(3)/*.h labs/$(3)/*.h) $(COMMON)
	@mkdir -p $$(@D)
	tmp=$$$$(mktemp $$@.XXXXXX) && { $$(CC) $$(ALL_CFLAGS) -I$(1)/$(3) -Ilabs/$(3) -o $$$$tmp $$(filter %.c,$$^) $$(LDLIBS) && mv -f $$$$tmp $$@ || { rm -f $$$$tmp; exit 1; }; }
$(2)/$(3)/test_%: $(call tests_dir,$(1),$(3))/test_%.c $(call units_of,$(1),$(3)) $(wildcard $(1)/$(3)/*.h labs/$(3)/*.h) $(COMMON)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) -I$(1)/$(3) -Ilabs/$(3) -o $$@ $$(filter %.c,$$^) -lcmocka $$(LDLIBS)
endef

# tree_targets TREE OUT: every program of a tree.
tree_programs = $(foreach lab,$(call lab_dirs,$(1)),$(2)/$(lab)/$(call prog_of,$(lab)))
tree_unit_tests = $(foreach lab,$(call lab_dirs,$(1)),$(patsubst $(call tests_dir,$(1),$(lab))/%.c,$(2)/$(lab)/%,$(wildcard $(call tests_dir,$(1),$(lab))/test_*.c)))

TREES := labs $(wildcard solutions)
$(foreach tree,$(TREES),$(foreach lab,$(call lab_dirs,$(tree)),$(eval $(call lab_rules,$(tree),$(BUILD)/$(tree),$(lab)))))
# A submission or other tree: make SRC=path OUT=dir [OUT/NN-name/prog ...]
ifdef SRC
OUT ?= $(BUILD)/src
$(foreach lab,$(call lab_dirs,$(SRC)),$(eval $(call lab_rules,$(SRC),$(OUT),$(lab))))
endif

COMMON_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
$(BUILD)/tests/unit/%: tests/unit/%.c $(COMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) -Wl,--wrap=read,--wrap=write -lcmocka $(LDLIBS)

FUZZ_SECONDS ?= 300
# What `make fuzz` fuzzes: the reference codec, or yours with FUZZ_IMPL=labs.
FUZZ_IMPL ?= $(if $(wildcard solutions),solutions,labs)

FLAKE_ARGS ?=
BENCH_ARGS ?=

.PHONY: all help deps grade test unit fuzz bench flake tree clean slides demo autograder student-dist
.DEFAULT_GOAL := all

all: $(foreach tree,$(TREES),$(call tree_programs,$(tree),$(BUILD)/$(tree)))

help:
	@echo 'make                      build every lab program (skeletons and solutions) into build/'
	@echo 'make grade [LAB=NN] [IMPL=labs|solutions|DIR] [FORMAT=json] [JOBS=N]'
	@echo '                          build and grade; IMPL=labs (your work) by default'
	@echo 'make unit [IMPL=labs]     run the cmocka unit tests (labs/common, lab units)'
	@echo 'make test                 the repository'"'"'s own tests (what CI runs)'
	@echo 'make fuzz [FUZZ_SECONDS=300] [FUZZ_IMPL=labs]'
	@echo '                          libFuzzer over the lab 07 NTP decoder and validator'
	@echo 'make bench                how fast grading is: wall times, floor, overhead, class, lab 06'
	@echo 'make flake [FLAKE_ARGS=--busy]  grade the solutions 30 times, a few mutants 10; report any flip'
	@echo 'make slides               render every deck in slides/ to build/slides/ (HTML; PDF with Chromium)'
	@echo 'make demo LAB=NN [EXPERIMENT=name] [IMPL=labs]'
	@echo '                          run a lab'"'"'s two sides in a lab network and show the packets;'
	@echo '                          the reference solution unless IMPL is given; `make demo` lists them'
	@echo 'make deps                 install the Debian packages everything needs'
	@echo 'make autograder           build/autograder.zip for Gradescope (hidden tests, no solutions)'
	@echo 'make student-dist DEST=DIR  the repository for students: no solutions, no hidden tests'
	@echo 'make clean                remove build/'

deps:
	@harness/deps all

grade:
	@harness/deps grade
	@harness/grade $(if $(LAB),--lab $(LAB)) --impl $(IMPL) $(if $(FORMAT),--format $(FORMAT)) $(if $(JOBS),--jobs $(JOBS))

tree: $(if $(SRC),$(call tree_programs,$(SRC),$(OUT)))

unit: $(COMMON_TESTS) $(call tree_unit_tests,$(IMPL),$(BUILD)/$(IMPL))
	@set -e; for t in $^; do echo "== $$t"; $$t; done

test:
	@harness/deps test
	@tests/run

bench:
	@harness/deps test
	@"$$(harness/python)" tests/bench/bench.py $(BENCH_ARGS)

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
	@harness/python >/dev/null && PYTHONPATH=. "$$(harness/python)" -m harness.dist autograder $(BUILD)/autograder.zip

student-dist:
	@test -n "$(DEST)" || { echo 'usage: make student-dist DEST=DIR' >&2; exit 2; }
	@PYTHONPATH=. "$$(harness/python)" -m harness.dist student "$(DEST)"

clean:
	rm -rf $(BUILD)
