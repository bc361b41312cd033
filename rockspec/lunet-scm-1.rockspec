rockspec_format = "3.0"
package = "lunet"
version = "scm-1"
-- `luarocks make` builds the checkout it runs in and never reads source.url;
-- the address below is a placeholder (the reserved .invalid domain) for the
-- repository a release publishes from: set it before `luarocks pack` or upload
source = {
  url = "git+https://lunet.invalid/lunet.git",
  branch = "main",
}
description = {
  summary = "Neural Networks from Scratch for Lua 5.4, with C kernels",
  detailed = [[
lunet brings the whole of the book "Neural Networks from Scratch" (Kinsley and
Kukiela) to Lua 5.4: float32 tensors, Dense/Dropout/Input layers, ReLU, Sigmoid,
Softmax and Linear activations, cross-entropy/MSE/MAE losses, SGD, AdaGrad,
RMSprop and Adam, accuracies and a Model that trains, evaluates, predicts,
saves and loads (safetensors). Kernels are C; matrix products go through
OpenBLAS (CBLAS) when it is installed, else through a portable C fallback.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- OpenBLAS is optional: the Makefile uses it when pkg-config finds it and
-- falls back to portable C otherwise, so it is not listed here.
external_dependencies = {
  PNG = { header = "png.h" },
  ZLIB = { header = "zlib.h" },
  CJSON = { header = "cjson/cJSON.h" },
  CSV = { header = "csv.h" },
}
build = {
  type = "make",
  build_variables = {
    LUA_INC = "-I$(LUA_INCDIR)",
    CFLAGS = "$(CFLAGS) -I$(PNG_INCDIR) -I$(ZLIB_INCDIR) -I$(CJSON_INCDIR)/cjson -I$(CSV_INCDIR)",
    LDFLAGS = "-L$(PNG_LIBDIR) -L$(ZLIB_LIBDIR) -L$(CJSON_LIBDIR) -L$(CSV_LIBDIR)",
  },
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
  },
}
test_dependencies = {}
test = {
  type = "command",
  command = "lua5.4 /usr/bin/busted",
}
