# anomesh — build, test, run.
#
# Layout drives the build; no list of files is kept here:
#   common/*.c                       -> $(B)/libanomesh.a   (linked by everything)
#   ae/*.c                           -> $(B)/libae.a        (the model: inference, training, data, file)
#   services/<svc>/*.c  (not *main.c) -> $(B)/lib<svc>.a   (the service's modules)
#   services/<svc>/main.c            -> $(BIN)/<svc>
#   services/<svc>/<prog>_main.c     -> $(BIN)/<prog with _ as ->  (e.g. lpms_emu_main.c -> lpms-emu)
#   tools/*.c  (not *_main.c)        -> $(B)/libtools.a     (the model tools' shared modules)
#   tools/<prog>_main.c              -> $(BIN)/<prog with _ as ->  (model tools: ae_train_main.c -> ae-train)
#   bench/<prog>_main.c              -> $(BIN)/<prog with _ as ->  (benchmarks, load generators)
#   tests/harness/*.c                -> $(B)/libharness.a
#   tests/unit/test_*.c              -> $(B)/t/test_*       (cmocka; links every lib)
#   tests/integration/test_*.c       -> $(B)/t/itest_*      (cmocka + a real mosquitto)
#   tests/scripts/test_*.sh          -> run as they are    (shell-level checks)
#
# Variants: `make` builds into build/release and bin/; `make SAN=1` builds with
# ASan+UBSan into build/san (binaries in build/san/bin). `make test` runs the
# whole suite on both. WERROR=1 (CI) turns warnings into errors.

SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
# Objects built through pattern chains are kept: no rebuild on every make.
.SECONDARY:

CC ?= cc
SAN ?= 0
WERROR ?= 0
SHARED ?= $(abspath ../shared)
ANOMESH_PORT ?= 1883
export ANOMESH_PORT

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif
# Debian's paths, written out rather than asked of pkg-config: the Makefile is
# parsed before `make deps` has installed anything on a fresh machine.
PKG_CFLAGS := -I/usr/include/cjson
PKG_LIBS := -lsqlite3 -lcurl -lnats

ifeq ($(SAN),1)
B := build/san
BIN := build/san/bin
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
else
B := build/release
BIN := bin
OPT := -O2 -g
LDSAN :=
endif

CPPFLAGS += -D_GNU_SOURCE -Icommon -Iae -I/usr/include/x86_64-linux-gnu/openblas-pthread \
            -I/usr/include/openblas $(PKG_CFLAGS)
CFLAGS += -std=c11 $(OPT) $(WARN) -MMD -MP
# --as-needed: a program records only the libraries it calls: libnats only
# in the fleet tier's programs, OpenBLAS only in those that score (its
# constructor starts a thread pool in every process that loads it).
LDFLAGS += $(LDSAN) -Wl,--as-needed
LDLIBS += -lpaho-mqtt3as -lssl -lcrypto $(PKG_LIBS) -lcjson -lopenblas -lbluetooth -lutil -lpthread -lm

# ---- sources ---------------------------------------------------------------
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)
LIBCOMMON := $(B)/libanomesh.a
AE_SRC := $(wildcard ae/*.c)
AE_OBJ := $(AE_SRC:%.c=$(B)/%.o)
LIBAE := $(B)/libae.a

SERVICES := $(notdir $(patsubst %/,%,$(wildcard services/*/)))
svc_mod_src = $(filter-out %main.c,$(wildcard services/$(1)/*.c))
svc_lib = $(B)/lib$(1).a
SVC_LIBS := $(foreach s,$(SERVICES),$(if $(call svc_mod_src,$(s)),$(call svc_lib,$(s))))
# One service's modules may call another's (fleet-archiver stores through
# the archiver's store): the linker scans the service archives as a group.
SVC_LINK := -Wl,--start-group $(SVC_LIBS) -Wl,--end-group

TOOLS_SRC := $(filter-out %_main.c,$(wildcard tools/*.c))
LIBTOOLS := $(B)/libtools.a

# programs: name -> main source
MAIN_SRC := $(wildcard services/*/main.c services/*/*_main.c tools/*_main.c bench/*_main.c)
prog_of = $(if $(filter main.c,$(notdir $(1))),$(notdir $(patsubst %/,%,$(dir $(1)))),$(subst _,-,$(patsubst %_main.c,%,$(notdir $(1)))))
PROGS := $(foreach m,$(MAIN_SRC),$(call prog_of,$(m)))
PROG_BINS := $(PROGS:%=$(BIN)/%)

HARNESS_SRC := $(wildcard tests/harness/*.c)
LIBHARNESS := $(B)/libharness.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/t/%)
ITEST_SRC := $(wildcard tests/integration/test_*.c)
ITEST_BINS := $(ITEST_SRC:tests/integration/test_%.c=$(B)/t/itest_%)
SCRIPT_TESTS := $(wildcard tests/scripts/test_*.sh)
# Tests of what is installed or shipped (make install, the .deb, the compose
# images), and those that run none of our C (the broker's ACL with
# mosquitto's own clients, the configs, the make targets), do not depend on
# the build variant: the SAN run leaves them out.
ifeq ($(SAN),1)
SCRIPT_TESTS := $(filter-out %/test_install.sh %/test_compose_stack.sh %/test_broker_acl.sh \
  %/test_compose.sh %/test_loopback_conf.sh %/test_make_targets.sh,$(SCRIPT_TESTS))
endif

ALL_OBJ := $(COMMON_OBJ) $(AE_OBJ) $(TOOLS_SRC:%.c=$(B)/%.o) $(HARNESS_SRC:%.c=$(B)/%.o) \
  $(foreach s,$(SERVICES),$(patsubst %.c,$(B)/%.o,$(call svc_mod_src,$(s)))) \
  $(MAIN_SRC:%.c=$(B)/%.o) $(UNIT_SRC:%.c=$(B)/%.o) $(ITEST_SRC:%.c=$(B)/%.o)

# ---- rules -----------------------------------------------------------------
.PHONY: all progs deps check test unit integration run run-fleet bench soak models eval-skab \
        eval-lpms fuzz fuzz-smoke fuzz-cc lint format clean help

all: $(LIBCOMMON) $(LIBAE) $(PROG_BINS) $(UNIT_BINS) $(ITEST_BINS)

# progs: the programs only (the images: no tests to build there).
progs: $(PROG_BINS)

help:
	@echo "make            build everything (bin/, build/release/t/)"
	@echo "make run        install deps, build, start broker + the whole mesh on 127.0.0.1:\$$ANOMESH_PORT"
	@echo "make test       install deps, build, run unit + integration tests, plain and under ASan/UBSan"
	@echo "make run-fleet  the fleet tier: 3 NATS nodes, 2 gateways, the central archiver, the fleet view"
	@echo "make check      the test suite once, for this variant (SAN=1 for sanitizers)"
	@echo "make unit       the unit tests once"
	@echo "make integration  the integration and script tests once"
	@echo "make bench      benchmarks (figures, not pass/fail)"
	@echo "make soak       the whole mesh for SOAK_MINUTES (30) at SOAK_SENSORS (1000): memory over time, nothing lost"
	@echo "make console    build the console page (build/console/)"
	@echo "make eval-skab  SKAB protocol: F1/FAR/MAR, NAB, tuning/validation/all, PNGs (SKAB=dir OUT=dir)"
	@echo "make eval-lpms  model on the seed recordings: FAILURE stretches, clean held-out tail, PNGs"
	@echo "make models     rebuild models/arm-linacc.aem, and models/lpms-linacc.aem where the recordings are"
	@echo "make fuzz       every parser under libFuzzer, FUZZ_SECONDS each (FUZZ_TARGETS=msg: one)"
	@echo "make fuzz-smoke every parser under libFuzzer for 10 s (CI)"
	@echo "make lint       clang-format check + cppcheck"
	@echo "make format     clang-format the tracked C files"
	@echo "make install    binaries, models, broker configs, systemd units (PREFIX, DESTDIR)"
	@echo "make deb        build/anomesh_<version>_<arch>.deb from the same tree"
	@echo "make deps       install the Debian packages in scripts/packages.txt"
	@echo "make clean      remove build/ and bin/"
	@echo "make help       this list"

# Every object waits for the Debian packages: on a fresh machine any make
# target first installs them (order-only: no rebuild when the stamp changes).
$(B)/%.o: %.c | build/.deps-ok
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# An archive is rebuilt when a member is newer, and also when its list of
# members changes (a source added, moved or removed: an old member would
# otherwise stay in it): each archive depends on a stamp holding the list,
# rewritten only when the list differs.
members = $(shell mkdir -p $(B)/members && f=$(B)/members/$(notdir $(1)).txt && \
  { [ "$$(cat $$f 2>/dev/null)" = '$(2)' ] || echo '$(2)' >$$f; } && echo $$f)
define lib_rule
$(1): $(2) $(call members,$(1),$(2))
	@mkdir -p $$(@D)
	rm -f $$@ && $$(AR) rcs $$@ $(2)
endef
$(eval $(call lib_rule,$(LIBCOMMON),$(COMMON_OBJ)))
$(eval $(call lib_rule,$(LIBAE),$(AE_OBJ)))
$(eval $(call lib_rule,$(LIBTOOLS),$(TOOLS_SRC:%.c=$(B)/%.o)))
$(eval $(call lib_rule,$(LIBHARNESS),$(HARNESS_SRC:%.c=$(B)/%.o)))
$(foreach s,$(SERVICES),$(if $(call svc_mod_src,$(s)),$(eval $(call lib_rule,$(call svc_lib,$(s)),$(patsubst %.c,$(B)/%.o,$(call svc_mod_src,$(s)))))))

# A program links the tools' and services' modules, then the model, then
# common: each archive before the ones it calls into. Only the objects a
# program uses come out of an archive (the scorer pulls no training code).
define prog_rule
$(BIN)/$(call prog_of,$(1)): $(B)/$(1:.c=.o) $(LIBTOOLS) $(SVC_LIBS) $(LIBAE) $(LIBCOMMON)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $(LIBTOOLS) $(SVC_LINK) $(LIBAE) $(LIBCOMMON) $$(LDLIBS)
endef
$(foreach m,$(MAIN_SRC),$(eval $(call prog_rule,$(m))))

# the harness first: its synthetic recordings (tests/harness/synth.c) use a
# service's modules (the arm, the LpmsControl CSV writer)
TEST_LIBS := $(LIBHARNESS) $(LIBTOOLS) $(SVC_LIBS) $(LIBAE) $(LIBCOMMON)
TEST_LINK := $(LIBHARNESS) $(LIBTOOLS) $(SVC_LINK) $(LIBAE) $(LIBCOMMON)
$(B)/t/test_%: $(B)/tests/unit/test_%.o $(TEST_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_LINK) $(LDLIBS) -lcmocka

$(B)/t/itest_%: $(B)/tests/integration/test_%.o $(TEST_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_LINK) $(LDLIBS) -lcmocka

-include $(ALL_OBJ:.o=.d)

# ---- dependencies ----------------------------------------------------------
# Stamp keyed on the package list: edited list -> deps checked again.
build/.deps-ok: scripts/packages.txt scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p build && touch $@

deps:
	@scripts/deps.sh
	@mkdir -p build && touch build/.deps-ok

# ---- test ------------------------------------------------------------------
# check: one variant. Every unit and integration binary runs; all must pass.
# ANOMESH_TEST_JOBS: how many test programs run at once (tests/run.sh):
# most wait on the clock, not the CPU, so two halve the wall time. The
# long integration programs go first, the short unit ones fill in after.
ANOMESH_TEST_JOBS ?= 2
export ANOMESH_TEST_JOBS
check: all
	@ANOMESH_BIN=$(abspath $(BIN)) ANOMESH_SHARED=$(SHARED) tests/run.sh $(ITEST_BINS) $(UNIT_BINS) $(SCRIPT_TESTS)

unit: all
	@ANOMESH_BIN=$(abspath $(BIN)) ANOMESH_SHARED=$(SHARED) tests/run.sh $(UNIT_BINS)

integration: all
	@ANOMESH_BIN=$(abspath $(BIN)) ANOMESH_SHARED=$(SHARED) tests/run.sh $(ITEST_BINS) $(SCRIPT_TESTS)

test: build/.deps-ok
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory check SAN=1

# ---- run -------------------------------------------------------------------
run: build/.deps-ok
	$(MAKE) --no-print-directory all
	@ANOMESH_SHARED=$(SHARED) scripts/run-mesh.sh

# run-fleet: the fleet tier on one machine (scripts/run-fleet.sh, fleet/README.md).
run-fleet: build/.deps-ok console
	$(MAKE) --no-print-directory all
	@scripts/run-fleet.sh

bench: build/.deps-ok
	$(MAKE) --no-print-directory all
	@ANOMESH_SHARED=$(SHARED) scripts/bench.sh

# soak: scripts/soak-mesh.sh (SOAK_RAW_QOS, SOAK_PRED_QOS: its header).
SOAK_SENSORS ?= 1000
SOAK_MINUTES ?= 30
soak: build/.deps-ok
	$(MAKE) --no-print-directory all
	@scripts/soak-mesh.sh $(SOAK_SENSORS) $(SOAK_MINUTES)

# ---- model -----------------------------------------------------------------
# eval-skab: SKAB's protocol (contract "Offline evaluation output");
# eval-lpms: the seed recordings; models: rebuild the default model file.
SKAB ?= $(SHARED)/data/skab
OUT ?= build/eval-skab
LPMS_DATA ?= $(SHARED)/data/lpms-b2

# Both also draw PNGs (scripts/eval-plots.sh, gnuplot) beside their CSVs.
LPMS_OUT ?= build/eval-lpms
eval-skab: $(BIN)/ae-eval
	$(BIN)/ae-eval skab --data "$(SKAB)" --out "$(OUT)"
	@scripts/eval-plots.sh skab "$(OUT)"

eval-lpms: $(BIN)/ae-eval
	$(BIN)/ae-eval lpms --data "$(LPMS_DATA)" --out "$(LPMS_OUT)"
	@scripts/eval-plots.sh lpms "$(LPMS_OUT)"

# models: arm-linacc.aem from 30 minutes of the healthy synthetic arm (seed 1:
# the arms of `make run` use other seeds), always; lpms-linacc.aem from the
# real normal recording where ../shared has it (otherwise the shipped file
# stays, and the line below says so), its first 5,291 rows only: the last
# 20 % (1,322 rows, 29 s) are held out, as in `make eval-lpms`, so that any
# claim about false alarms on the normal recording can rest on data the
# shipped model never saw.
LPMS_TRAIN_ROWS := 5291
ARM_TRAIN_CSV := build/arm-normal-seed1.csv
MODEL_SHAPE := --channels linacc_x,linacc_y,linacc_z --window 200 --hop 10 --hidden 50 \
  --activation tanh --seed 1
models: $(BIN)/ae-train $(BIN)/lpms-emu
	@mkdir -p models build
	$(BIN)/lpms-emu --dump-csv $(ARM_TRAIN_CSV) --seconds 1800 --arm-seed 1
	$(BIN)/ae-train --data $(ARM_TRAIN_CSV) $(MODEL_SHAPE) --name arm-linacc \
	  --out models/arm-linacc.aem
	@if [ -r "$(LPMS_DATA)/normal_20170202_2229.csv" ]; then \
	  echo "$(BIN)/ae-train --data $(LPMS_DATA)/normal_20170202_2229.csv ... --out models/lpms-linacc.aem"; \
	  $(BIN)/ae-train --data "$(LPMS_DATA)/normal_20170202_2229.csv" $(MODEL_SHAPE) \
	    --rows $(LPMS_TRAIN_ROWS) --name lpms-linacc --out models/lpms-linacc.aem; \
	else \
	  echo "models: $(LPMS_DATA)/normal_20170202_2229.csv not found: models/lpms-linacc.aem" \
	       "kept as shipped (set SHARED=dir or LPMS_DATA=dir to rebuild it)"; \
	fi

# ---- fuzz ------------------------------------------------------------------
# Every tests/fuzz/fuzz_<name>.c is a libFuzzer target, build/fuzz/fuzz_<name>,
# linked by clang with -fsanitize=fuzzer,address,undefined against common,
# the model (ae/) and the service modules (not mains), compiled once more
# with coverage into build/fuzz/obj (build/fuzz/libfuzz.a: each target pulls
# only what it calls). tests/fuzz/run.sh runs them, each in turn: first the
# inputs that once failed (tests/fuzz/regressions/<name>/), then fuzzing from
# the committed seeds (tests/fuzz/corpus/<name>/), seeds taken at run time
# from $(SHARED) and models/, and what earlier runs found (build/fuzz/corpus/).
#   make fuzz              every target FUZZ_SECONDS (default 60) each
#   make fuzz-smoke        every target FUZZ_SMOKE_SECONDS (10) each: CI
#   make fuzz FUZZ_TARGETS=msg FUZZ_RUNS=10000000 FUZZ_SECONDS=0
#                          one target for a number of executions
# A crash, a failed property or a failed build fails the make.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_RUNS ?=
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CC ?= clang
FZ := build/fuzz
FUZZ_MODS := $(COMMON_SRC) $(AE_SRC) $(foreach s,$(SERVICES),$(call svc_mod_src,$(s)))
FUZZ_OBJ := $(FUZZ_MODS:%.c=$(FZ)/obj/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FZ)/fuzz_%)
FUZZ_CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=undefined $(filter-out -Werror,$(WARN))
FUZZ_RUN = ANOMESH_SHARED=$(SHARED) FUZZ_BIN=$(FZ) tests/fuzz/run.sh

$(FZ)/obj/%.o: %.c | build/.deps-ok fuzz-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(eval $(call lib_rule,$(FZ)/libfuzz.a,$(FUZZ_OBJ)))
$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FZ)/libfuzz.a | fuzz-cc
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d -MT $@ \
	  -o $@ $< $(FZ)/libfuzz.a $(LDLIBS)
-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BINS:=.d)

fuzz-cc:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: needs $(FUZZ_CC) with libFuzzer (make deps)" >&2; exit 1; }

fuzz: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) $(FUZZ_RUN) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_RUNS= $(FUZZ_RUN) $(FUZZ_TARGETS)

# ---- style -----------------------------------------------------------------
C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
lint:
	@clang-format --dry-run --Werror $(C_FILES)
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Icommon -Iae -D__GNUC__ \
	  common ae services tools bench

format:
	clang-format -i $(C_FILES)

clean:
	rm -rf build bin
include console/console.mk
include packaging/install.mk
