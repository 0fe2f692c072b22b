# factorysim - one hand-written Makefile.
#
#   make              build build/factorysim (and the benchmarks' binaries)
#   make run          install missing Debian packages, build, run the quickstart example
#   make test         build and run every test (unit, scenario, bad input, HDF5, examples)
#   make memcheck     valgrind memcheck on the examples and the bad-input path
#   make fuzz         libFuzzer on the input parsers (clang; FUZZ_SECONDS per target)
#   make bench        run the benchmarks and print their figures
#   make install      install the program under $(PREFIX) (default /usr/local)
#   make clean        remove build/
#   make deps         only the package check/installation step
#   make format/lint  clang-format / cppcheck over the sources
#
# Options: SAN=1 (AddressSanitizer + UBSan), DEBUG=1 (-O0), MPI=1 (build with mpicc:
# `mpirun -n R factorysim sweep ...` spreads a sweep over ranks).
#
# Package flags come from pkg-config and are expanded lazily (=, not :=), so that
# `make run` on a machine without the -dev packages reaches the deps step instead
# of failing while the Makefile is read.

PREFIX  ?= /usr/local
BUILD   := build
VERSION := 0.1.0

# Debian packages the build, the tests and the examples need.
DEB_PKGS := pkg-config libgsl-dev libyaml-dev libhdf5-dev hdf5-tools libcmocka-dev python3 python3-h5py
PKGS     := gsl yaml-0.1 hdf5
# Debian packages only some tests need (MPI sweeps, the report in a browser,
# examples/python); without them (and without root to install them) those
# tests skip.
TEST_PKGS := openmpi-bin libopenmpi-dev chromium python3-pandas python3-matplotlib

ifeq ($(MPI),1)
CC := mpicc
MPI_DEFS := -DFS_HAVE_MPI=1
endif

GIT_REV = $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

OPT := -O2
ifeq ($(DEBUG),1)
OPT := -O0
endif
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow
OPT := -O1
endif

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(CI),true)
WARN += -Werror
endif
INCLUDES := -I. -Isim -Imodels -Iscenarios -Ioutput -Irun
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -fopenmp $(SANFLAGS) \
	     $(INCLUDES) -I$(BUILD)/gen $(MPI_DEFS) -DFS_VERSION='"$(VERSION)"' \
	     $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
LDLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -fopenmp $(SANFLAGS) -lm
TEST_LDLIBS = $(LDLIBS) $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

# The library is every module but the CLI entry point; tests and benches link it.
LIB_SRC  := $(filter-out sim/main.c,$(wildcard sim/*.c models/*.c scenarios/*.c output/*.c run/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libfactorysim.a
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/%)
CUDA_SRC := $(wildcard calibration/cuda/*.cu)
NVCC     ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)

FORCE:
# keep the objects of tests and benches (intermediate files of chained rules)
.SECONDARY:
.PHONY: FORCE all run test memcheck bench install uninstall clean deps format lint unit-tests cuda-check calibration-bench mpi-check
.DEFAULT_GOAL := all

all: $(BUILD)/factorysim $(BENCH_BIN) $(BUILD)/facility-bench

# the facility benchmark under the name the docs use
$(BUILD)/facility-bench: $(BUILD)/facility_bench
	ln -sf facility_bench $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The git revision goes into a generated header that changes only when the
# revision does, so a commit rebuilds main.o and nothing else.
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define FS_GIT_REV "$(GIT_REV)"' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/obj/sim/main.o $(BUILD)/obj/run/runner.o: $(BUILD)/gen/version.h

$(BUILD)/factorysim: $(BUILD)/obj/sim/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%: $(BUILD)/obj/bench/%.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(TEST_LDLIBS)

# The fuzz targets with a plain main() (tests/fuzz/replay_main.c), built by
# the ordinary compiler: `make test` replays the crash reproducers and the
# seed corpora through them (tests/t_fuzz_replay.sh).
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/obj/tests/fuzz/%.o: ALL_CFLAGS += -Itests/fuzz

# --- the two commands -------------------------------------------------------

deps:
	@sh tools/deps.sh $(DEB_PKGS)

run: deps
	@$(MAKE) --no-print-directory all
	./$(BUILD)/factorysim run examples/quickstart/quickstart.yaml -o $(BUILD)/quickstart.h5

test: deps
	@sh tools/deps.sh $(TEST_PKGS) || echo "make test: the tests that need these will skip"
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(REPLAY_BIN)
	@$(MAKE) --no-print-directory cuda-check
	@$(MAKE) --no-print-directory mpi-check
	@sh tests/run.sh $(BUILD)

# valgrind memcheck on the examples (shortened), the bad-input path and an
# interrupted run: tests/memcheck.sh.  Without SAN=1.
memcheck: deps
	@$(MAKE) --no-print-directory all
	@sh tests/memcheck.sh $(BUILD)

# The MPI build of the CLI, for the MPI sweep test (tests/t_sweep.sh), in its
# own build directory so that the main build stays MPI-free.
mpi-check:
ifneq ($(MPI),1)
	@if command -v mpicc >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory MPI=1 BUILD=$(BUILD)/mpi $(BUILD)/mpi/factorysim; \
	else echo "mpi-check: mpicc not found; the MPI sweep test will be skipped"; fi
endif

# --- benchmarks -------------------------------------------------------------

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh $(BUILD)

# --- CUDA: compile-only check in `make test`; the real build in calibration-bench

cuda-check:
ifneq ($(strip $(CUDA_SRC)),)
ifneq ($(strip $(NVCC)),)
	@mkdir -p $(BUILD)/cuda
	@for f in $(CUDA_SRC); do \
		echo "nvcc -c $$f"; \
		$(NVCC) -std=c++17 -O2 -c $$f -o $(BUILD)/cuda/$$(basename $$f .cu).o || exit 1; \
	done
else
	@echo "cuda-check: nvcc not found; skipping the CUDA sources in calibration/cuda/"
endif
else
	@true
endif

# The calibration microbenchmarks (run them on a GPU: calibration/README.md).
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_89,code=sm_89 \
	     -gencode arch=compute_90,code=sm_90 -gencode arch=compute_100,code=sm_100 \
	     -gencode arch=compute_120,code=sm_120 -gencode arch=compute_120,code=compute_120

calibration-bench:
ifneq ($(strip $(NVCC)),)
	@mkdir -p $(BUILD)/calibration
	@for f in $(CUDA_SRC); do \
		echo "nvcc $$f"; \
		$(NVCC) -O3 -std=c++17 $(CUDA_ARCH) $$f -o $(BUILD)/calibration/$$(basename $$f .cu) \
			-lcublasLt -lcublas -ldl -lpthread || exit 1; \
	done
else
	@echo "calibration-bench: nvcc not found; the CUDA microbenchmarks need the CUDA toolkit"; exit 1
endif

# --- install / clean / tooling ---------------------------------------------

# --- fuzzing (libFuzzer; clang only) ---------------------------------------
# `make fuzz [FUZZ_SECONDS=60]` builds tests/fuzz/fuzz_*.c with libFuzzer,
# ASan and UBSan into $(BUILD)/fuzz and runs each on a copy of its corpus.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
		$(INCLUDES) -I$(BUILD)/gen -Itests/fuzz -DFS_VERSION='"$(VERSION)"' \
		$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/run/runner.o: $(BUILD)/gen/version.h

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) \
		$(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

.PHONY: fuzz fuzz-check
fuzz-check:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz: $(FUZZ_CC) not found; install clang (>= 6) with libFuzzer (Debian: clang, libclang-rt-dev)"; exit 1; }
	@echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
		| $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null \
		|| { echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer; libFuzzer (libclang_rt.fuzzer) is missing"; exit 1; }

fuzz: fuzz-check
	@$(MAKE) -s --no-print-directory $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
	@fail=0; for t in $(FUZZ_TARGETS); do \
		rm -rf $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts/$$t; \
		mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts/$$t; \
		cp -r tests/fuzz/corpus/$$t/. $(FUZZ_DIR)/corpus/$$t/ 2>/dev/null || true; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		$(FUZZ_DIR)/$$t $$dict -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ $(FUZZ_DIR)/corpus/$$t \
			>$(FUZZ_DIR)/$$t.log 2>&1; rc=$$?; \
		grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' $(FUZZ_DIR)/$$t.log | tail -n 1; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' $(FUZZ_DIR)/$$t.log; \
		if [ $$rc -ne 0 ]; then \
			fail=1; echo "== $$t: FAILED (exit $$rc); log $(FUZZ_DIR)/$$t.log, reproducer in $(FUZZ_DIR)/artifacts/$$t/"; \
			grep -E 'ERROR: |SUMMARY: |runtime error' $(FUZZ_DIR)/$$t.log | head -n 5; \
		fi; \
	done; \
	if [ $$fail -ne 0 ]; then echo "fuzz: a target crashed"; exit 1; fi; \
	echo "fuzz: no crashes"

-include $(wildcard $(FUZZ_DIR)/obj/*/*.d)

install: $(BUILD)/factorysim
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/factorysim
	install -m 755 $(BUILD)/factorysim $(DESTDIR)$(PREFIX)/bin/factorysim
	install -d $(DESTDIR)$(PREFIX)/share/factorysim/catalog
	install -m 644 scenarios/catalog/*.yaml $(DESTDIR)$(PREFIX)/share/factorysim/catalog/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/factorysim
	rm -rf $(DESTDIR)$(PREFIX)/share/factorysim

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --std=c11 --enable=warning,performance,portability --inline-suppr --quiet \
		--error-exitcode=1 $(INCLUDES) sim models scenarios output bench

# every object's header dependencies: library, CLI, tests and benches
-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d)
