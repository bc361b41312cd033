# lunet: Neural Networks from Scratch for Lua 5.4, kernels in C.
#   make            build lunet/core.so (OpenBLAS through CBLAS)
#   make BLAS=none  build with the portable C matrix product instead
#   make test       install missing Debian packages, build, run the spec
#   make demo       install missing Debian packages, build, run the main job
#   make deps       install missing Debian packages (apt-get, as root or via sudo)
#   make bench      time an epoch of the book's Fashion-MNIST run vs NumPy and the GEMM floor

LUA        ?= lua5.4
LUA_INC    ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
# OpenBLAS when its pkg-config file is there, else the portable C product
BLAS       ?= $(shell pkg-config --exists openblas 2>/dev/null && echo openblas || echo none)
BUSTED     ?= $(LUA) /usr/bin/busted

CC         ?= cc
OPT        ?= -O2
WARN       = -std=c99 -Wall -Wextra -pedantic -Wmissing-prototypes -Wstrict-prototypes \
             -Wshadow -Wpointer-arith -Wcast-qual -Wwrite-strings
CFLAGS_ALL = $(OPT) $(WARN) -fPIC -D_POSIX_C_SOURCE=200809L $(LUA_INC) -I/usr/include/cjson $(CFLAGS)
LIBS       = -lpng -lz -lcjson -lcsv -lm

ifeq ($(BLAS),none)
  BLAS_DEF  =
  BLAS_LIB  =
else
  BLAS_DEF  = -DLUNET_USE_CBLAS
  BLAS_INC  = $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu)
  BLAS_LIB  = $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
endif

# BUILD and SO may be moved (e.g. make BUILD=/tmp/b SO=/tmp/b/lunet/core.so)
BUILD ?= build
SO    ?= lunet/core.so
SRC  = $(wildcard src/*.c) $(wildcard src/engine/*.c) $(wildcard src/engine/ops/*.c) $(wildcard src/kernels/*.c)
OBJ  = $(patsubst src/%.c,$(BUILD)/$(BLAS)/%.o,$(SRC))
HDR  = src/lunet.h src/lunet_c.h src/model.h src/optimizers.h src/data.h src/kernels/kernels.h $(wildcard src/kernels/*.h) $(wildcard src/engine/*.h)

DEB_PKGS = lua5.4 liblua5.4-dev libpng-dev zlib1g-dev lua-busted libopenblas-dev libcjson-dev libcsv-dev \
           pkg-config dataset-fashion-mnist gnuplot-nox

LUA_FILES = $(wildcard lua/lunet/*.lua)
INST_LIBDIR ?= /usr/local/lib/lua/5.4
INST_LUADIR ?= /usr/local/share/lua/5.4

.PHONY: all test demo deps clean spec examples install lint bench capi capitest

all: $(SO)

# the .so is rebuilt when the BLAS choice changes (build/<blas>/ stamp)
$(SO): $(OBJ) $(BUILD)/$(BLAS)/.stamp
	@mkdir -p $(dir $(SO))
	$(CC) -shared -o $@ $(OBJ) $(BLAS_LIB) $(LIBS) $(LDFLAGS)

$(BUILD)/$(BLAS)/.stamp:
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/*/.stamp; touch $@

$(BUILD)/$(BLAS)/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(BLAS_DEF) $(BLAS_INC) -DLUNET_CFLAGS='"$(OPT) BLAS=$(BLAS)"' -c -o $@ $<

# kernels: sqrtf loops (the optimizers) vectorise only without errno; math
# results are unchanged (no fast-math)
$(BUILD)/$(BLAS)/kernels/%.o: CFLAGS_ALL += -fno-math-errno

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# run the spec against the build in this tree
spec: $(SO)
	$(BUSTED) --cpath="$(dir $(SO))../?.so"

# the whole spec, against the OpenBLAS build and against the portable build
test: deps
	$(MAKE) all
	$(BUSTED)
	@# the thread-count and path matrix (spec/hardening_spec.lua) with every
	@# product on OpenBLAS, as on CPUs without AVX-512
	LUNET_CPU=avx2 $(BUSTED) spec/hardening_spec.lua
	$(MAKE) BLAS=none BUILD=build/portable SO=build/portable/lunet/core.so spec
	@# the portable build again as on CPUs without AVX-512 and without AVX2
	@# (src/kernels/cpu.c), so that those paths run on every machine
	LUNET_CPU=avx2 $(MAKE) BLAS=none BUILD=build/portable SO=build/portable/lunet/core.so spec
	LUNET_CPU=generic $(MAKE) BLAS=none BUILD=build/portable SO=build/portable/lunet/core.so spec

# the main job: the book's Fashion-MNIST run, saved, plotted, then reloaded
# to predict the sample pictures (outputs in out/)
demo: deps
	$(MAKE) all
	@mkdir -p out
	$(LUA) examples/fashion_mnist.lua --out out/fashion_mnist.safetensors --plots out
	$(LUA) examples/predict_image.lua --model out/fashion_mnist.safetensors

# speed and memory benchmark (bench/run.sh, bench/RESULTS.md): lunet vs NumPy vs the GEMM
# floor; installs what it compares with (NumPy, OpenCV for the book's PNG
# loader, GNU time for the peak RSS) when missing
BENCH_PKGS = python3-numpy python3-opencv python3-torch time
bench:
	$(MAKE) deps DEB_PKGS="$(DEB_PKGS) $(BENCH_PKGS)"
	$(MAKE) $(SO)
	LUNET_CPATH="$(dir $(SO))../?.so" LUA="$(LUA)" sh bench/run.sh

# static checks: luacheck on the Lua, cppcheck on the C, a -Werror build
lint:
	luacheck lua spec examples bench
	cppcheck --enable=warning,performance --std=c99 -q -D__GNUC__ -Isrc --error-exitcode=1 src
	$(MAKE) BUILD=build/werror SO=build/werror/lunet/core.so CFLAGS=-Werror
	$(MAKE) BLAS=none BUILD=build/werror SO=build/werror/lunet/core-none.so CFLAGS=-Werror

# used by the rockspec (build.type = "make")
install: $(SO)
	mkdir -p $(DESTDIR)$(INST_LIBDIR)/lunet $(DESTDIR)$(INST_LUADIR)/lunet
	cp $(SO) $(DESTDIR)$(INST_LIBDIR)/lunet/core.so
	cp $(LUA_FILES) $(DESTDIR)$(INST_LUADIR)/lunet/

clean:
	rm -rf build lunet

# ---------------------------------------------------------------- C API
#   make capi       build/liblunet.a: the C API without Lua (src/lunet_c.h)
#   make capitest   test/capi_test.c under ASan+UBSan against models and
#                   predictions that Lua saves (test/capi_models.lua)
# Compiled without Lua's headers, so nothing in it can reach Lua.
CAPI_SRC  = $(wildcard src/kernels/*.c) $(wildcard src/engine/*.c) $(wildcard src/engine/ops/*.c) \
            $(wildcard src/capi/*.c)
CAPI_DIR  = $(BUILD)/capi-$(BLAS)
CAPI_OBJ  = $(patsubst src/%.c,$(CAPI_DIR)/%.o,$(CAPI_SRC))
CAPI_LIB ?= $(BUILD)/liblunet.a
CAPI_LINK = $(CAPI_LIB) -lpng -lz -lcjson -lm -lpthread $(BLAS_LIB)
CAPI_CFLAGS = $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -I/usr/include/cjson $(BLAS_DEF) $(BLAS_INC) $(CFLAGS)

capi: $(CAPI_LIB)
	@echo "link with: cc prog.c -Isrc $(CAPI_LINK)"

$(CAPI_LIB): $(CAPI_OBJ) $(CAPI_DIR)/.stamp
	@rm -f $@
	ar rcs $@ $(CAPI_OBJ)

$(CAPI_DIR)/.stamp:
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/capi-*/.stamp; touch $@

$(CAPI_DIR)/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CAPI_CFLAGS) -c -o $@ $<

$(CAPI_DIR)/kernels/%.o: CAPI_CFLAGS += -fno-math-errno

# the same compiler and flags as the Lua module (so the numbers are the
# same), plus AddressSanitizer and UBSan
CAPI_TEST_BUILD ?= $(BUILD)/capitest
capitest: $(SO)
	$(MAKE) BUILD=$(CAPI_TEST_BUILD) CAPI_LIB=$(CAPI_TEST_BUILD)/liblunet.a \
	  CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" $(CAPI_TEST_BUILD)/liblunet.a
	$(CC) $(OPT) $(WARN) -fsanitize=address,undefined -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L -Isrc \
	  -I/usr/include/cjson -o $(CAPI_TEST_BUILD)/capi_test test/capi_test.c $(CAPI_TEST_BUILD)/liblunet.a \
	  -lpng -lz -lcjson -lm -lpthread $(BLAS_LIB)
	@rm -rf $(CAPI_TEST_BUILD)/models && mkdir -p $(CAPI_TEST_BUILD)/models
	LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="$(dir $(SO))../?.so;;" \
	  $(LUA) test/capi_models.lua $(CAPI_TEST_BUILD)/models
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CAPI_TEST_BUILD)/capi_test $(CAPI_TEST_BUILD)/models

# ---------------------------------------------------------------- robustness
#   make fuzz       each libFuzzer target in fuzz/ for FUZZ_SECONDS (clang, ASan+UBSan)
#   make sanitize   the whole spec against a clang ASan+UBSan build of the module
#   make memcheck   the whole spec under valgrind (portable -O2 -g build): no invalid access, no leak
#   make multistate test/multistate.c: lunet in 4 threads' lua_States at once (ThreadSanitizer)
#   make adamcheck  test/adamcheck.c: Adam's vector loop against the exact float expression
#   make gemmcheck  test/gemmcheck.c: products on rows read in place against ln_gemm
#   make rngcheck   test/rngcheck.c: the generator's jumps against as many draws
.PHONY: fuzz fuzz-build sanitize memcheck multistate adamcheck gemmcheck rngcheck
CLANG        ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     ?= $(BUILD)/fuzz
FUZZ_TARGETS  = st idx png folder model net
FUZZ_FLAGS    = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -Isrc -Isrc/kernels -I/usr/include/cjson $(LUA_INC) -D_POSIX_C_SOURCE=200809L
FUZZ_LIBS_st  = -lcjson
FUZZ_LIBS_idx = -lz
FUZZ_LIBS_png = -lpng -lz
FUZZ_LIBS_folder = -llua5.4 -lpng -lz -lcjson -lcsv -lm
FUZZ_SRC_st   = src/kernels/st_format.c
FUZZ_SRC_idx  = src/kernels/idx.c src/kernels/fileio.c
FUZZ_SRC_png  = src/kernels/png.c src/kernels/fileio.c
FUZZ_SRC_folder = $(SRC)   # the whole module, portable BLAS, through Lua
FUZZ_LIBS_model = $(FUZZ_LIBS_folder)
FUZZ_SRC_model = $(SRC)    # the whole module and lua/lunet/model.lua, through Lua
FUZZ_SRC_net  = $(CAPI_SRC) # the C API alone: no Lua, portable products
FUZZ_LIBS_net = -lpng -lz -lcjson -lm -lpthread
SAN_BUILD    ?= $(BUILD)/sanitize
SAN_LEAKS    ?= 1
SAN_FLAGS     = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
MEM_BUILD    ?= $(BUILD)/memcheck
VALGRIND     ?= valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
                --errors-for-leak-kinds=definite --track-origins=no --suppressions=fuzz/valgrind.supp

$(FUZZ_DIR)/%_fuzz: fuzz/%_fuzz.c $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*)

fuzz-build: $(patsubst %,$(FUZZ_DIR)/%_fuzz,$(FUZZ_TARGETS))

# seeds are made by fuzz/make_seeds.lua with the module itself; new inputs
# go to $(FUZZ_DIR)/corpus/<target>, crashes to $(FUZZ_DIR)/crash-<target>-*
fuzz: fuzz-build $(SO)
	rm -rf $(FUZZ_DIR)/seeds && LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="$(dir $(SO))../?.so;;" \
	  $(LUA) fuzz/make_seeds.lua $(FUZZ_DIR)/seeds
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t fuzz/regress/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_DIR)/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 \
	    -timeout=20 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
	    $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t fuzz/regress/$$t 2>$(FUZZ_DIR)/$$t.log \
	  || { tail -60 $(FUZZ_DIR)/$$t.log; echo "fuzz: $$t FAILED"; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^Done' $(FUZZ_DIR)/$$t.log | tr '\n' ' '; echo; \
	done

$(SAN_BUILD)/lunet/core.so: $(SRC) $(HDR)
	$(MAKE) CC=$(CLANG) OPT="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" \
	  BUILD=$(SAN_BUILD) SO=$(SAN_BUILD)/lunet/core.so $(SAN_BUILD)/lunet/core.so

# Lua is not instrumented: the ASan runtime is preloaded (inherited by the
# interpreter busted re-executes); LeakSanitizer runs at exit (SAN_LEAKS=0
# turns it off where ptrace or the kernel forbid it)
sanitize: $(SAN_BUILD)/lunet/core.so
	LD_PRELOAD=$$($(CLANG) -print-file-name=libclang_rt.asan-x86_64.so) \
	ASAN_OPTIONS=detect_leaks=$(SAN_LEAKS):abort_on_error=0:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(BUSTED) --cpath="$(SAN_BUILD)/?.so"

$(MEM_BUILD)/lunet/core.so: $(SRC) $(HDR)
	$(MAKE) BLAS=none OPT="-O2 -g" BUILD=$(MEM_BUILD) SO=$(MEM_BUILD)/lunet/core.so $(MEM_BUILD)/lunet/core.so

# the whole spec (about 4 minutes); --ignore-lua keeps busted from
# re-executing itself outside valgrind (.busted names an interpreter)
memcheck: $(MEM_BUILD)/lunet/core.so
	$(VALGRIND) $(BUSTED) --ignore-lua --cpath="$(MEM_BUILD)/?.so"

# test/adamcheck.c: Adam's vector loop (and its division without a divide)
# against the exact float expression, bit for bit (about 10 s)
adamcheck:
	@mkdir -p $(BUILD)
	$(CC) -O2 $(WARN) -fno-math-errno -D_POSIX_C_SOURCE=200809L -Isrc/kernels -o $(BUILD)/adamcheck test/adamcheck.c \
	  src/kernels/cpu.c -lm
	$(BUILD)/adamcheck

# test/gemmcheck.c: the products that read a batch's rows in place against
# ln_gemm on the gathered rows, bit for bit (a few seconds)
gemmcheck:
	@mkdir -p $(BUILD)
	$(CC) -O2 $(WARN) -fno-math-errno -D_POSIX_C_SOURCE=200809L -Isrc/kernels -o $(BUILD)/gemmcheck \
	  test/gemmcheck.c src/kernels/nn.c src/kernels/rng.c src/kernels/cpu.c -lm
	$(BUILD)/gemmcheck

# test/rngcheck.c: ln_rng_jump(k) lands where k draws do (the threads'
# Dropout masks rely on it)
rngcheck:
	@mkdir -p $(BUILD)
	$(CC) -O2 $(WARN) -D_POSIX_C_SOURCE=200809L -Isrc/kernels -o $(BUILD)/rngcheck test/rngcheck.c src/kernels/rng.c \
	  -lm -lpthread
	$(BUILD)/rngcheck

# test/multistate.c and a portable module, both under ThreadSanitizer
MT_BUILD     ?= $(BUILD)/tsan
multistate:
	$(MAKE) BLAS=none CC=$(CLANG) OPT="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" \
	  BUILD=$(MT_BUILD) SO=$(MT_BUILD)/lunet/core.so $(MT_BUILD)/lunet/core.so
	$(CLANG) -O1 -g -fsanitize=thread $(WARN) -D_POSIX_C_SOURCE=200809L $(LUA_INC) -pthread \
	  -o $(MT_BUILD)/multistate test/multistate.c -llua5.4 -ldl
	TSAN_OPTIONS=halt_on_error=1 $(MT_BUILD)/multistate "$(CURDIR)" "$(MT_BUILD)/?.so"
