# SPDX-License-Identifier: GPL-2.0
#
# msharefs top-level build.
#
#   make              dependencies, the three kernels, the userspace, the
#                     arm64 guest userland
#   make check        host unit tests + guest suite on x86_64 and arm64
#   make check-debug  guest suite on the KASAN + lockdep + DEBUG_VM kernel
#   make check-heavy  guest suite on the heavy debug kernels (x86_64, arm64):
#                     + DEBUG_PAGEALLOC, page-table check, kmemleak,
#                     fault injection (not in CI)
#   make demo         boot the VM, run the 1500-process SGA demo
#   make demo-postgres  PostgreSQL 15 with and without msharefs, side by side
#   make load         1500 processes attach/detach under PROTECT/ADVISE, 60 s
#   make fuzz         the long fuzzing runs: mshare-fuzz on x86_64 and
#                     arm64, trinity on x86_64 (about 17 min; not in CI)
#   make install      libmshare, mshare CLI, preload shim (PREFIX, DESTDIR)
#   make deb          installable kernel packages (hours; not in CI)
#
# Every step is a file target with real prerequisites, so a second `make`
# with nothing changed does not enter kbuild at all.

TOP		:= $(CURDIR)
BUILD		:= $(TOP)/build
KTAR		:= /usr/src/linux-source-6.12.tar.xz
KTREE		:= $(BUILD)/linux
JOBS		?= $(shell nproc)

# Kernel compiles go through ccache. The base directory makes paths
# relative in the cache key, so a fresh clone elsewhere still hits.
export CCACHE_BASEDIR	:= $(TOP)
export CCACHE_MAXSIZE	?= 10G
export KBUILD_BUILD_USER := msharefs
export KBUILD_BUILD_HOST := build

DEPS_STAMP	:= $(BUILD)/.deps
TREE_STAMP	:= $(KTREE)/.msharefs-tree
SERIES		:= kernel/patches/series $(wildcard kernel/patches/*.patch)
KSRCS		:= $(shell find fs/msharefs include -type f 2>/dev/null)

# name, ARCH, CROSS_COMPILE, image path in O=, config fragments
K_x86_64_ARCH	:= x86_64
K_x86_64_IMAGE	:= arch/x86/boot/bzImage
K_x86_64_FRAGS	:= base x86_64
K_x86_64-debug_ARCH	:= x86_64
K_x86_64-debug_IMAGE	:= arch/x86/boot/bzImage
K_x86_64-debug_FRAGS	:= base x86_64 debug
K_arm64_ARCH	:= arm64
K_arm64_CROSS	:= aarch64-linux-gnu-
K_arm64_IMAGE	:= arch/arm64/boot/Image
K_arm64_FRAGS	:= base arm64
# make check-heavy's kernels: not built by `make`.
K_x86_64-heavy_ARCH	:= x86_64
K_x86_64-heavy_IMAGE	:= arch/x86/boot/bzImage
K_x86_64-heavy_FRAGS	:= base x86_64 debug heavy
K_arm64-heavy_ARCH	:= arm64
K_arm64-heavy_CROSS	:= aarch64-linux-gnu-
K_arm64-heavy_IMAGE	:= arch/arm64/boot/Image
K_arm64-heavy_FRAGS	:= base arm64 debug heavy

KERNELS		:= x86_64 arm64 x86_64-debug
kimage		= $(BUILD)/kernel/$(1)/$(K_$(1)_IMAGE)

MESON_X86	:= $(BUILD)/meson/x86_64
MESON_ARM64	:= $(BUILD)/meson/arm64
ROOTFS_ARM64	:= $(BUILD)/rootfs/arm64.cpio

.PHONY: all kernels userspace deps check check-unit check-debug demo bench fuzz clean distclean \
	kernel-version

all: kernels userspace $(ROOTFS_ARM64) kernel-version

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/install-deps
	tools/install-deps
	@mkdir -p $(@D) && touch $@

# --- kernel -------------------------------------------------------------

# The tarball comes from the linux-source-6.12 package, which deps
# installs: on a new machine it does not exist until then.
$(KTAR): | $(DEPS_STAMP)
	@test -f $@ || { echo "$@ missing: is linux-source-6.12 installed?" >&2; exit 1; }

$(TREE_STAMP): $(KTAR) $(SERIES) tools/kernel-tree | $(DEPS_STAMP)
	tools/kernel-tree $(KTAR) $(KTREE)
	touch $@

kernel-version: $(TREE_STAMP)
	@echo "kernel: Linux $$(tools/kernel-version $(KTREE)) + $$(grep -c '^[^#]' kernel/patches/series) msharefs patches"

kcc		= ccache $(K_$(1)_CROSS)gcc
# The config step leaves a stamp: Kconfig does not rewrite an unchanged
# .config, so .config's own time cannot say that the step ran.
kstamp		= $(BUILD)/kernel/$(1)/.msharefs-config
# The source tree: the patched one unless K_NAME_TREE names another.
ktree		= $(or $(K_$(1)_TREE),$(KTREE))

define kernel_rules
$(call kstamp,$(1)): $(call ktree,$(1))/.msharefs-tree tools/kernel-config $(foreach f,$(K_$(1)_FRAGS),kernel/configs/$(f).config)
	tools/kernel-config $(call ktree,$(1)) $(BUILD)/kernel/$(1) $(K_$(1)_ARCH) \
		"$(K_$(1)_CROSS)" "$(call kcc,$(1))" \
		$(foreach f,$(K_$(1)_FRAGS),kernel/configs/$(f).config)
	@touch $$@

$(call kimage,$(1)): $(call kstamp,$(1)) $(KSRCS)
	$$(MAKE) -C $(call ktree,$(1)) O=$(BUILD)/kernel/$(1) ARCH=$(K_$(1)_ARCH) \
		CROSS_COMPILE=$(K_$(1)_CROSS) CC="$(call kcc,$(1))" \
		-j$(JOBS) $(notdir $(K_$(1)_IMAGE))
	@touch $$@

kernel-$(1): $(call kimage,$(1))
.PHONY: kernel-$(1)
endef
$(foreach k,$(KERNELS) x86_64-heavy arm64-heavy,$(eval $(call kernel_rules,$(k))))

kernels: $(foreach k,$(KERNELS),$(call kimage,$(k)))

# --- userspace ----------------------------------------------------------

$(MESON_X86)/build.ninja: | $(DEPS_STAMP)
	meson setup $(MESON_X86) $(TOP) --buildtype=debugoptimized

# The arm64 cross build: everything that runs in the guest, linked against
# the distribution's arm64 libraries (multiarch, from deps). Options set by
# the cross file stay in a configured tree when the file changes (meson's
# own regeneration keeps them), so a changed cross file wipes the tree.
$(MESON_ARM64)/build.ninja: tools/meson/aarch64-linux-gnu.ini | $(DEPS_STAMP)
	meson setup $(if $(wildcard $@),--wipe) $(MESON_ARM64) $(TOP) \
		--buildtype=debugoptimized --cross-file tools/meson/aarch64-linux-gnu.ini

userspace: $(MESON_X86)/build.ninja $(MESON_ARM64)/build.ninja
	ninja -C $(MESON_X86)
	ninja -C $(MESON_ARM64)

# arm64 guests cannot run the host's x86 userland: they boot a small
# initramfs with the distribution's static arm64 busybox, its arm64 glibc
# (loader included) and the shared libraries the arm64 build links
# (libmount and its own, liburing), and our init. The package list is in
# the script.
$(ROOTFS_ARM64): tools/vm/mkrootfs-arm64 tools/vm/guest-init | $(DEPS_STAMP)
	tools/vm/mkrootfs-arm64 $@

# --- tests --------------------------------------------------------------

TAPSUM		:= $(MESON_X86)/tools/tap-summary
LOGS		:= $(BUILD)/logs

check-unit: all
	@mkdir -p $(LOGS)
	CMOCKA_MESSAGE_OUTPUT=TAP tests/run-suite $(MESON_X86)/tests/unit \
		> $(LOGS)/unit.tap || true
	tests/run-suite tests/tools >> $(LOGS)/unit.tap || true
	@cat $(LOGS)/unit.tap

# guest_suite NAME, vm-run options, meson build: run the guest suite in
# a VM and keep its TAP, with the VM's own verdict, in $(LOGS)/NAME.tap.
define guest_suite
check-guest-$(1): all
	@mkdir -p $(LOGS)
	tools/vm-run $(2) -- tests/run-suite $(3)/tests/guest > $(LOGS)/$(1).tap; \
		echo "# vm-run: exit $$$$?" >> $(LOGS)/$(1).tap
	@cat $(LOGS)/$(1).tap
.PHONY: check-guest-$(1)
endef
$(eval $(call guest_suite,x86_64,--arch x86_64,$(MESON_X86)))
$(eval $(call guest_suite,arm64,--arch arm64,$(MESON_ARM64)))
# The debug kernel runs the suite in 25 to 35 minutes here, of which
# test-postgres takes 7 (alone) to 15 (beside another guest).
$(eval $(call guest_suite,x86_64-debug,--arch x86_64 --debug --timeout 3600,$(MESON_X86)))

check: all
	@mkdir -p $(LOGS) && rm -f $(LOGS)/unit.tap $(LOGS)/x86_64.tap $(LOGS)/arm64.tap
	@$(MAKE) --no-print-directory check-unit check-guest-x86_64 check-guest-arm64 || true
	@$(TAPSUM) $(LOGS)/unit.tap $(LOGS)/x86_64.tap $(LOGS)/arm64.tap

check-debug: all
	@rm -f $(LOGS)/x86_64-debug.tap
	@$(MAKE) --no-print-directory check-guest-x86_64-debug
	@$(TAPSUM) $(LOGS)/x86_64-debug.tap

# make check-heavy: the suite on the heavy debug kernels, x86_64 then
# arm64, with a kmemleak scan after it (tests/kmemleak). Not in `make`,
# `make check` or CI: the two kernels are built only here, and the runs
# take HEAVY_TIMEOUT_<arch> at most.
HEAVY_TIMEOUT_x86_64	?= 3600
HEAVY_TIMEOUT_arm64	?= 7200
define heavy_suite
check-guest-$(1)-heavy: all $(call kimage,$(1)-heavy)
	@mkdir -p $(LOGS)
	tools/vm-run --arch $(1) --heavy --timeout $$(HEAVY_TIMEOUT_$(1)) -- sh -c \
		'tests/kmemleak clear; tests/run-suite $(2)/tests/guest; rc=$$$$?; tests/kmemleak report || rc=1; exit $$$$rc' \
		> $(LOGS)/$(1)-heavy.tap; echo "# vm-run: exit $$$$?" >> $(LOGS)/$(1)-heavy.tap
	@cat $(LOGS)/$(1)-heavy.tap
.PHONY: check-guest-$(1)-heavy
endef
$(eval $(call heavy_suite,x86_64,$(MESON_X86)))
$(eval $(call heavy_suite,arm64,$(MESON_ARM64)))

check-heavy: all $(call kimage,x86_64-heavy) $(call kimage,arm64-heavy)
	@rm -f $(LOGS)/x86_64-heavy.tap $(LOGS)/arm64-heavy.tap
	@$(MAKE) --no-print-directory check-guest-x86_64-heavy check-guest-arm64-heavy || true
	@$(TAPSUM) $(LOGS)/x86_64-heavy.tap $(LOGS)/arm64-heavy.tap
.PHONY: check-heavy

# --- mm selftests -------------------------------------------------------

# make check-selftests: the kernel's tools/testing/selftests/mm on the
# patched kernel and on an unpatched one from the same tarball, both with
# the selftests fragment, compared case by case (tools/check-selftests).
# Not in `make`, `make check` or CI: these two kernels are built only here.
# SELFTESTS_FLAGS=--full adds run_vmtests.sh's gup_test matrix.
VANILLA_TREE	:= $(BUILD)/linux-vanilla
VANILLA_PATCHES	:= $(BUILD)/vanilla-patches
K_x86_64-selftests_ARCH		:= x86_64
K_x86_64-selftests_IMAGE	:= arch/x86/boot/bzImage
K_x86_64-selftests_FRAGS	:= base x86_64 selftests
K_x86_64-vanilla_ARCH		:= x86_64
K_x86_64-vanilla_IMAGE		:= arch/x86/boot/bzImage
K_x86_64-vanilla_FRAGS		:= base x86_64 selftests vanilla
K_x86_64-vanilla_TREE		:= $(VANILLA_TREE)
$(foreach k,x86_64-selftests x86_64-vanilla,$(eval $(call kernel_rules,$(k))))

# Their modules (test_hmm and test_vmalloc, which the selftests' scripts
# modprobe), installed in the kernel's build directory under modinst/:
# check-selftests points the guest's modprobe there.
kmods		= $(BUILD)/kernel/$(1)/modinst/.msharefs-modules
define kernel_modules
$(call kmods,$(1)): $(call kimage,$(1))
	$$(MAKE) -C $(call ktree,$(1)) O=$(BUILD)/kernel/$(1) ARCH=$(K_$(1)_ARCH) \
		CROSS_COMPILE=$(K_$(1)_CROSS) CC="$(call kcc,$(1))" -j$(JOBS) modules
	rm -rf $(BUILD)/kernel/$(1)/modinst
	$$(MAKE) -C $(call ktree,$(1)) O=$(BUILD)/kernel/$(1) ARCH=$(K_$(1)_ARCH) \
		CROSS_COMPILE=$(K_$(1)_CROSS) CC="$(call kcc,$(1))" \
		INSTALL_MOD_PATH=$(BUILD)/kernel/$(1)/modinst modules_install
	@touch $$@
endef
$(foreach k,x86_64-selftests x86_64-vanilla,$(eval $(call kernel_modules,$(k))))

# The same tarball through kernel-tree with an empty series.
$(VANILLA_TREE)/.msharefs-tree: $(KTAR) tools/kernel-tree | $(DEPS_STAMP)
	mkdir -p $(VANILLA_PATCHES) && : > $(VANILLA_PATCHES)/series
	tools/kernel-tree $(KTAR) $(VANILLA_TREE) $(VANILLA_PATCHES)
	touch $@

check-selftests: $(call kimage,x86_64-selftests) $(call kimage,x86_64-vanilla) \
		$(call kmods,x86_64-selftests) $(call kmods,x86_64-vanilla) \
		$(MESON_X86)/build.ninja
	ninja -C $(MESON_X86) tools/ksplat
	tools/check-selftests --tree $(VANILLA_TREE) \
		--patched $(call kimage,x86_64-selftests) \
		--vanilla $(call kimage,x86_64-vanilla) $(SELFTESTS_FLAGS)
.PHONY: check-selftests

demo: all
	tools/vm-run --arch x86_64 --timeout 1200 -- tools/demo

# make demo-postgres [PG_DEMO_OUT=DIR]: the distribution's PostgreSQL 15
# in the VM, plain and then through the preload shim, measured side by
# side (examples/postgres, docs/postgresql.md). Not in CI: ~30 min.
PG_DEMO_OUT	?= $(BUILD)/demo-postgres
demo-postgres: all
	tools/demo-postgres $(PG_DEMO_OUT)
.PHONY: demo-postgres

# make load [LOAD_SECONDS=60] [LOAD_PROCS=1500] [LOAD_FLAGS=...]: the
# load test (tests/guest/mshare-load) in the x86_64 guest, then the arm64
# one: LOAD_PROCS processes attach, check and detach for LOAD_SECONDS
# while another PROTECTs and ADVISEs; any error fails it. LOAD_FLAGS adds
# options (--backing tmpfs, --size MiB, --seed N, -v). Output in
# $(LOGS)/load-<arch>.tap. Not in CI: make check runs the short test-load;
# this takes about LOAD_SECONDS + 40 s an architecture.
LOAD_SECONDS	?= 60
LOAD_PROCS	?= 1500
LOAD_FLAGS	?=
load: all
	@mkdir -p $(LOGS)
	@rc=0; for a in x86_64 arm64; do \
		tools/vm-run --arch $$a --timeout $$(($(LOAD_SECONDS) + 900)) -- \
			$(BUILD)/meson/$$a/tests/guest/mshare-load --procs $(LOAD_PROCS) \
			--seconds $(LOAD_SECONDS) $(LOAD_FLAGS) > $(LOGS)/load-$$a.tap; \
		r=$$?; echo "# vm-run --arch $$a: exit $$r" >> $(LOGS)/load-$$a.tap; \
		cat $(LOGS)/load-$$a.tap; [ $$r = 0 ] || rc=1; \
	done; exit $$rc
.PHONY: load

# make fuzz [FUZZ_SEED=N] [FUZZ_OPS=N] [FUZZ_TIME=S] [FUZZ_PROCS=N]
# [FUZZ_TRINITY_OPS=N]: the long fuzzing runs. The model-checked fuzzer
# (tests/guest/mshare-fuzz) for FUZZ_TIME seconds or FUZZ_OPS ops (0: no
# limit), whichever comes first, with FUZZ_PROCS workers, in the x86_64
# guest and then the arm64 one; then tools/fuzz-trinity (trinity,
# unprivileged, on the msharefs mount; x86_64 only) for FUZZ_TIME seconds
# at most. One seed for all three, the time unless FUZZ_SEED says; seeds
# and counts are printed, and a failed run prints its replay command (FUZZ_SEED=S
# FUZZ_OPS=N FUZZ_TIME=0 replays the same ops). A data mismatch, a leak,
# an unhealthy kernel or a splat (vm-run's 123) fails it. Logs in
# $(LOGS)/fuzz-*.log. Not in CI: about 17 min with the defaults; make
# check runs the quick modes (test-fuzz, test-trinity).
ifeq ($(origin FUZZ_SEED),undefined)
FUZZ_SEED	:= $(shell date +%s)
endif
FUZZ_OPS	?= 0
FUZZ_TIME	?= 300
FUZZ_PROCS	?= 12
FUZZ_TRINITY_OPS ?= 1000000
fuzz: all
	@mkdir -p $(LOGS)
	@echo "make fuzz: seed $(FUZZ_SEED)"; rc=0; \
	for a in x86_64 arm64; do \
		tools/vm-run --arch $$a --timeout $$(($(FUZZ_TIME) + 900)) -- \
			$(BUILD)/meson/$$a/tests/guest/mshare-fuzz --seed $(FUZZ_SEED) \
			--ops $(FUZZ_OPS) --time $(FUZZ_TIME) --procs $(FUZZ_PROCS) \
			> $(LOGS)/fuzz-$$a.log 2>&1; \
		r=$$?; echo "vm-run --arch $$a: exit $$r" >> $(LOGS)/fuzz-$$a.log; \
		cat $(LOGS)/fuzz-$$a.log; [ $$r = 0 ] || rc=1; \
	done; \
	tools/vm-run --arch x86_64 --timeout $$(($(FUZZ_TIME) + 900)) -- \
		tools/fuzz-trinity --seed $(FUZZ_SEED) --ops $(FUZZ_TRINITY_OPS) \
		$(if $(filter-out 0,$(FUZZ_TIME)),--time $(FUZZ_TIME)) $(MESON_X86) \
		> $(LOGS)/fuzz-trinity.log 2>&1; \
	r=$$?; echo "vm-run --arch x86_64: exit $$r" >> $(LOGS)/fuzz-trinity.log; \
	cat $(LOGS)/fuzz-trinity.log; [ $$r = 0 ] || rc=1; \
	echo "make fuzz: seed $(FUZZ_SEED): $$([ $$rc = 0 ] && echo PASS || echo FAIL)"; \
	exit $$rc
.PHONY: fuzz

# make bench [BENCH_MODE=quick|full] [BENCH_ARCH=x86_64|arm64] [BENCH_OUT=DIR]:
# bench/ in the guest, then its summary and plots. Not in CI: quick mode
# takes 4 min on x86_64, the full one 32 min.
BENCH_MODE	?= quick
BENCH_ARCH	?= x86_64
BENCH_OUT	?= $(BUILD)/bench/$(BENCH_MODE)$(if $(filter arm64,$(BENCH_ARCH)),-arm64)
bench: all
	tools/bench $(BENCH_MODE) $(BENCH_OUT) $(BENCH_ARCH)

# make install [PREFIX=/usr/local] [DESTDIR=]: the library (shared and
# static), its headers with the uapi header, the pkg-config file, the man
# pages, the mshare CLI and the preload shim, from the x86_64 build.
PREFIX		?= /usr/local
install: $(MESON_X86)/build.ninja
	meson configure $(MESON_X86) -Dprefix=$(PREFIX)
	ninja -C $(MESON_X86)
	meson install -C $(MESON_X86) --no-rebuild --quiet $(if $(DESTDIR),--destdir $(DESTDIR))
.PHONY: install

# make deb: Debian packages of the patched kernel, from Debian's own
# configuration with CONFIG_MSHARE=y, in build/deb/. Hours on 2 cores: not
# in `make`, `make check` or CI. See tools/kernel-deb and the README.
FLAVOUR		?= amd64
DEB_OUT		= $(BUILD)/deb/$(FLAVOUR)/obj
deb: $(TREE_STAMP)
	tools/kernel-deb $(KTREE) $(DEB_OUT) $(FLAVOUR)
.PHONY: deb

clean:
	rm -rf $(BUILD)/meson $(BUILD)/logs $(BUILD)/rootfs

distclean:
	rm -rf $(BUILD)
