# A thin front for Meson + Ninja (see docs/design.md).  Two commands matter:
#   make demo    install dependencies, build, run a busybox container
#   make check   every test: unit, unit under ASan+UBSan, integration
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PYTEST     ?= /usr/bin/python3 -m pytest
MESON      ?= meson

.PHONY: all build asan deps demo check check-unit check-asan check-integration check-integration-asan \
        check-fuzz check-linux check-slow \
        fuzz format format-check bench clean

all: build

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) >/dev/null

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dstatic_cli=false >/dev/null

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

deps:
	scripts/install-deps.sh

demo: deps build
	scripts/demo.sh $(BUILD)/src/v12n

check-unit: build
	$(MESON) test -C $(BUILD) --print-errorlogs --suite unit

check-asan: asan
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	  $(MESON) test -C $(ASAN_BUILD) --print-errorlogs --suite unit

# Boot Debian's kernel under `v12n vm run` (skipped, with the reason, on PVM).
check-linux: build
	V12N=$(CURDIR)/$(BUILD)/src/v12n $(PYTEST) -rs tests/integration/vmm/test_linux_boot.py

# Tests marked very_slow (minutes; skipped by `make check`): a debootstrapped
# Debian on a qcow2 disk boots under `v12n vm` to a login prompt (docs/vms.md).
check-slow: build
	V12N=$(CURDIR)/$(BUILD)/src/v12n $(PYTEST) -rs -m very_slow tests/integration

check-fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	tests/fuzz/run.sh $(FUZZ_BUILD) 10

$(FUZZ_BUILD)/build.ninja:
	CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false -Dstatic_cli=false >/dev/null

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	tests/fuzz/run.sh $(FUZZ_BUILD) 300

# The suite runs twice: against the ASan+UBSan build (a leak or undefined
# behaviour in the runtime fails the command under test), then against the
# normal build, whose pytest summary closes `make check`.
check-integration: check-integration-asan
	V12N=$(CURDIR)/$(BUILD)/src/v12n V12N_ASAN=$(CURDIR)/$(ASAN_BUILD)/src/v12n \
	  $(PYTEST) tests/integration

check-integration-asan: build asan
	V12N=$(CURDIR)/$(ASAN_BUILD)/src/v12n ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(PYTEST) -q tests/integration -m "not client"

check: format-check check-unit check-asan check-fuzz check-integration

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

bench: build
	bench/oci-run.sh $(BUILD)/src/v12n
	bench/unpack.sh $(BUILD)
	bench/vm.sh $(BUILD)/src/v12n
	bench/engine.sh $(BUILD)/src/v12n
	bench/vm-qemu.sh $(BUILD)/src/v12n

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
