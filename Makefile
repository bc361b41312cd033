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
LIBS       = -lpng -lz -lcjson -lm

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
SRC  = $(wildcard src/*.c) $(wildcard src/kernels/*.c)
OBJ  = $(patsubst src/%.c,$(BUILD)/$(BLAS)/%.o,$(SRC))
HDR  = src/lunet.h src/kernels/kernels.h $(wildcard src/kernels/*.h)

DEB_PKGS = lua5.4 liblua5.4-dev libpng-dev zlib1g-dev lua-busted libopenblas-dev libcjson-dev \
           pkg-config dataset-fashion-mnist gnuplot-nox

LUA_FILES = $(wildcard lua/lunet/*.lua)
INST_LIBDIR ?= /usr/local/lib/lua/5.4
INST_LUADIR ?= /usr/local/share/lua/5.4

.PHONY: all test demo deps clean spec examples install bench

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
	$(MAKE) BLAS=none BUILD=build/portable SO=build/portable/lunet/core.so spec

# the main job: the book's Fashion-MNIST run, saved, plotted, then reloaded
# to predict the sample pictures (outputs in out/)
demo: deps
	$(MAKE) all
	@mkdir -p out
	$(LUA) examples/fashion_mnist.lua --out out/fashion_mnist.safetensors --plots out
	$(LUA) examples/predict_image.lua --model out/fashion_mnist.safetensors

# speed and memory benchmark (bench/README.md): lunet vs NumPy vs the GEMM floor
bench: $(SO)
	LUNET_CPATH="$(dir $(SO))../?.so" LUA="$(LUA)" sh bench/run.sh

# used by the rockspec (build.type = "make")
install: $(SO)
	mkdir -p $(DESTDIR)$(INST_LIBDIR)/lunet $(DESTDIR)$(INST_LUADIR)/lunet
	cp $(SO) $(DESTDIR)$(INST_LIBDIR)/lunet/core.so
	cp $(LUA_FILES) $(DESTDIR)$(INST_LUADIR)/lunet/

clean:
	rm -rf build lunet
