# userfault: page faults handled in user space.
#
#   make                      library, command, examples into $(BUILD) (default build/)
#   make test                 build and run the whole test suite on every engine available
#   make install PREFIX=...   library, preload shim, headers, userfault.pc, man pages, command
#   make SAN=address,undefined BUILD=build/san test     the suite under sanitizers
#   make fuzz                 the libFuzzer targets (clang) into $(BUILD)/fuzz/
#   make tsan                 the test programs' user-engine cases under ThreadSanitizer (build/tsan)
#
# Files are found by wildcard: a new src/*.c, tools/*.c, tests/*.c or
# examples/*.c needs no change here.

VERSION      := 0.1.0
SOVERSION    := 0

CC           ?= cc
CXX          ?= c++
BUILD        ?= build
PREFIX       ?= /usr/local
DESTDIR      ?=
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CSTD      := -std=c11 -D_GNU_SOURCE
OPT       ?= -O2 -g
CFLAGS    ?=
LDFLAGS   ?=
ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) -Iinclude -Isrc -pthread -MMD -MP $(CFLAGS)
ifneq ($(SAN),)
ALL_CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SAN)
endif
ifneq ($(WERROR),)
ALL_CFLAGS += -Werror
endif

LIB_SRC   := $(sort $(wildcard src/*.c src/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_PIC   := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
TOOL_SRC  := $(sort $(wildcard tools/*.c))
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TLIB_SRC  := $(sort $(wildcard tests/lib/*.c))
TLIB_OBJ  := $(TLIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC  := $(sort $(wildcard tests/*.c))
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%.t)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCHES   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EX_SRC    := $(sort $(wildcard examples/*.c))
EXAMPLES  := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
MAN_PAGES := $(sort $(wildcard man/*.[1-8]))
# The preload shim: its own sources plus copies of the library's objects
# whose C library references are renamed (see preload/real.h).
PRE_SRC   := $(sort $(wildcard preload/*.c))
PRE_OBJ   := $(PRE_SRC:%.c=$(BUILD)/pic/%.o)
PRE_LIB   := $(LIB_SRC:%.c=$(BUILD)/preload/%.o)
PRELOAD   := $(BUILD)/libuserfault-preload.so
# Programs written against the kernel's uAPI alone, run natively and
# under the shim by tests/shim.sh: built without the library's headers.
SHIM_TEST_SRC := $(sort $(wildcard tests/shim/*.c))
SHIM_TESTS    := $(SHIM_TEST_SRC:tests/shim/%.c=$(BUILD)/tests/shim/%)
OBJCOPY   ?= objcopy

STATIC    := $(BUILD)/libuserfault.a
SHARED    := $(BUILD)/libuserfault.so
LIBS      := -pthread

.PHONY: all lib test check install uninstall clean fuzz tsan
all: lib $(PRELOAD) $(BUILD)/userfault $(EXAMPLES) $(BENCHES) $(BUILD)/userfault.pc

lib: $(STATIC) $(SHARED)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DUF_BUILDING_SHARED -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(SHARED): $(LIB_PIC) src/userfault.map
	$(CC) -shared -Wl,-soname,libuserfault.so.$(SOVERSION) -Wl,--version-script=src/userfault.map \
		-o $@.$(VERSION) $(LIB_PIC) $(LDFLAGS) $(LIBS)
	ln -sf libuserfault.so.$(VERSION) $@.$(SOVERSION)
	ln -sf libuserfault.so.$(VERSION) $@

$(BUILD)/preload/redefine.txt: preload/interposed.txt
	@mkdir -p $(dir $@)
	sed 's/.*/& uf__real_&/' $< > $@

$(BUILD)/preload/preload.map: preload/interposed.txt
	@mkdir -p $(dir $@)
	{ echo '{ global: uf_*;'; sed 's/.*/  &;/' $<; echo '  local: *; };'; } > $@

$(BUILD)/preload/%.o: $(BUILD)/pic/%.o $(BUILD)/preload/redefine.txt
	@mkdir -p $(dir $@)
	$(OBJCOPY) --redefine-syms=$(BUILD)/preload/redefine.txt $< $@

$(PRELOAD): $(PRE_OBJ) $(PRE_LIB) $(BUILD)/preload/preload.map
	$(CC) -shared -Wl,--version-script=$(BUILD)/preload/preload.map -o $@ $(PRE_OBJ) $(PRE_LIB) \
		$(LDFLAGS) $(LIBS) -ldl

# Fault injection (tests/inject.c): a copy of the library's objects whose
# references to the C library functions in tests/inject/wrapped.txt are
# renamed to the uf__inject_* wrappers of tests/inject/inject.c, which pass
# calls through or fail the one a test picks.  No hook in the engine itself.
INJ_LIB   := $(LIB_SRC:%.c=$(BUILD)/inject/%.o)

$(BUILD)/inject/redefine.txt: tests/inject/wrapped.txt
	@mkdir -p $(dir $@)
	sed 's/.*/& uf__inject_&/' $< > $@

$(BUILD)/inject/%.o: $(BUILD)/obj/%.o $(BUILD)/inject/redefine.txt
	@mkdir -p $(dir $@)
	$(OBJCOPY) --redefine-syms=$(BUILD)/inject/redefine.txt $< $@

$(BUILD)/obj/tests/inject/inject.o: ALL_CFLAGS += -Itests

$(BUILD)/tests/inject.t: tests/inject.c $(BUILD)/obj/tests/inject/inject.o $(TLIB_OBJ) $(INJ_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/obj/tests/inject/inject.o $(TLIB_OBJ) $(INJ_LIB) \
		$(LDFLAGS) $(LIBS)

$(BUILD)/tests/shim/%: tests/shim/%.c tests/shim/uffd.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) $(if $(WERROR),-Werror) -pthread -o $@ $<

# `userfault run` looks for the preload library in the installed $(LIBDIR) too.
$(BUILD)/obj/tools/run.o: ALL_CFLAGS += -DUF_LIBDIR='"$(LIBDIR)"'

$(BUILD)/userfault: $(TOOL_OBJ) $(STATIC)
	$(CC) -o $@ $(TOOL_OBJ) $(STATIC) $(LDFLAGS) $(LIBS) -lm

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

$(BUILD)/bench/%: bench/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS) -lm

$(BUILD)/tests/%.t: tests/%.c $(TLIB_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(TLIB_OBJ) $(STATIC) $(LDFLAGS) $(LIBS)

$(BUILD)/obj/tests/lib/%.o: tests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -c $< -o $@

$(BUILD)/userfault.pc: userfault.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# Fuzzers (tests/fuzz/*.c, one libFuzzer target each): clang with libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, the library instrumented
# for coverage.  Run them with tests/fuzz/run.sh.
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = $(CSTD) -O1 -g $(WARN) -Iinclude -Isrc -pthread -MMD -MP $(FUZZ_SAN) $(if $(WERROR),-Werror)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/*.c))
FUZZERS      := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)

fuzz: $(FUZZERS)
.SECONDARY: $(FUZZ_LIB_OBJ)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) -pthread

# The test runner builds nothing itself: everything it runs is a prerequisite.
test check: all $(TESTS) $(SHIM_TESTS)
	BUILD=$(BUILD) CC="$(CC)" CXX="$(CXX)" SAN="$(SAN)" tests/run.sh

# ThreadSanitizer: every test program, built with SAN=thread in its own
# build directory, run on the user engine only (the engine's threads are
# what TSan can watch; the kernel engine's cases would test the kernel).
# tests/run.sh passes tests/tsan.supp, which says why each entry is there.
TSAN_BUILD ?= build/tsan
tsan:
	$(MAKE) SAN=thread BUILD=$(TSAN_BUILD) OPT="-O1 -g" $(TEST_SRC:tests/%.c=$(TSAN_BUILD)/tests/%.t)
	BUILD=$(TSAN_BUILD) SAN=thread UF_TEST_ENGINE=user tests/run.sh $(TEST_SRC:tests/%.c=%)

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/userfault $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED).$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libuserfault.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libuserfault.so.$(SOVERSION)
	ln -sf libuserfault.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libuserfault.so
	install -m 755 $(PRELOAD) $(DESTDIR)$(LIBDIR)/
	install -m 644 include/userfault.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/userfault/uapi.h include/userfault/pagemap.h $(DESTDIR)$(INCLUDEDIR)/userfault/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' userfault.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/userfault.pc
	install -m 755 $(BUILD)/userfault $(DESTDIR)$(BINDIR)/
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libuserfault.* $(DESTDIR)$(PKGCONFIGDIR)/userfault.pc \
		$(DESTDIR)$(INCLUDEDIR)/userfault.h $(DESTDIR)$(BINDIR)/userfault
	rm -rf $(DESTDIR)$(INCLUDEDIR)/userfault
	for m in $(MAN_PAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$m); done

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
