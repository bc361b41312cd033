/*
** model_fuzz.c: libFuzzer target for lunet.Model.load's metadata path (the
** architecture JSON and the tensors it must match), driven through the
** whole module in a lua_State, with lua/lunet/model.lua from ./lua.
**
** The first byte picks the input's form:
**   'A'  the rest is a whole model file (.safetensors) as Model:save writes;
**   else the rest is the architecture JSON ("lunet.model" metadata), saved
**        with the tensors of a real model file (a 2-4-3 classifier trained
**        with Adam, made at start-up), so mutations of the JSON reach the
**        checks against the tensors, the build and the optimizer state.
** Properties checked (abort on failure):
**   - Model.load raises only messages that start "lunet.Model.load: <path>: ";
**   - a model that loads predicts (or raises a message) and, when its save
**     succeeds, the saved file loads back: every state save accepts loads.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int luaopen_lunet_core(lua_State *L);

/* this process's scratch files "a" and "b": in TMPDIR, else in /dev/shm
** when there is one (saves fsync, which costs nothing on tmpfs), else /tmp */
static const char *scratch(const char *what) {
  static char buf[2][256];
  int k = what[0] == 'b';
  const char *t = getenv("TMPDIR");
  if (!(t && *t)) t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(buf[k], sizeof buf[k], "%s/lunet_model_fuzz.%ld.%s", t, (long)getpid(), what);
  return buf[k];
}

static const char *const probe =
  "local lunet = require 'lunet'\n"
  "local mode, bytes, path, back, tensors = ...\n"
  "if mode == 'A' then\n"
  "  local f = assert(io.open(path, 'wb')); f:write(bytes); f:close()\n"
  "else\n"
  "  local meta = { format = 'lunet.model', ['lunet.model'] = bytes }\n"
  "  if not pcall(lunet.safetensors.save, path, tensors, meta) then return end -- not UTF-8, a zero byte\n"
  "end\n"
  "local ok, m = pcall(lunet.Model.load, path)\n"
  "if not ok then\n"
  "  local prefix = 'lunet.Model.load: ' .. path .. ': '\n"
  "  if type(m) ~= 'string' or m:sub(1, #prefix) ~= prefix then error('unprefixed: ' .. tostring(m)) end\n"
  "  return\n"
  "end\n"
  "local width = 3\n"
  "for _, l in ipairs(m.layers) do if l.n_inputs then width = l.n_inputs; break end end\n"
  "if width <= 4096 then pcall(m.predict, m, lunet.zeros(2, width)) end\n"
  "if pcall(m.save, m, back) then\n"
  "  local ok2, err = pcall(lunet.Model.load, back)\n"
  "  if not ok2 then error('saved but does not load: ' .. tostring(err)) end\n"
  "end\n";

/* the model whose tensors the JSON form is saved with */
static const char *const maker =
  "local lunet = require 'lunet'\n"
  "local path = ...\n"
  "lunet.seed(1)\n"
  "local m = lunet.Model()\n"
  "m:add(lunet.Dense(2, 4)); m:add(lunet.ReLU()); m:add(lunet.Dense(4, 3)); m:add(lunet.Softmax())\n"
  "m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }\n"
  "m:finalize()\n"
  "local X, y = lunet.data.spiral(10, 3)\n"
  "m:train(X, y, { epochs = 2, verbose = 0 })\n"
  "m:save(path)\n"
  "return (lunet.safetensors.load(path))\n";

static lua_State *state(void) {
  static lua_State *L = NULL;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "lunet.core", luaopen_lunet_core, 0);
    lua_pop(L, 1);
    if (luaL_dostring(L, "package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path") != LUA_OK) abort();
    if (luaL_loadstring(L, maker) != LUA_OK) abort();
    lua_pushstring(L, scratch("a"));
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      fprintf(stderr, "model_fuzz: %s\n", lua_tostring(L, -1));
      abort();
    }
    lua_setglobal(L, "tensors");
    if (luaL_loadstring(L, probe) != LUA_OK) abort();
    lua_setglobal(L, "probe");
  }
  return L;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = state();
  char mode[2] = { 0, 0 };
  if (size < 1) return 0;
  mode[0] = data[0] == 'A' ? 'A' : 'J';
  lua_getglobal(L, "probe");
  lua_pushstring(L, mode);
  lua_pushlstring(L, (const char *)data + 1, size - 1);
  lua_pushstring(L, scratch("a"));
  lua_pushstring(L, scratch("b"));
  lua_getglobal(L, "tensors");
  if (lua_pcall(L, 5, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "model_fuzz: %s\n", msg ? msg : "(no message)");
    abort();
  }
  lua_gc(L, LUA_GCCOLLECT, 0);
  unlink(scratch("a"));
  unlink(scratch("b"));
  return 0;
}
