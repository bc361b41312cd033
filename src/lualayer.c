/*
** lualayer.c: layers written in Lua inside a lunet.Model (API.md, "One
** engine for every layer").  A Lua layer is any table (or foreign userdata)
** with forward(self, inputs, training) returning the output tensor and
** backward(self, dvalues) returning the input gradient; a trainable one lists
** its tensors in self.params and their gradients in self.grads.  The Model
** calls these on the calling thread between its C layers; the optimizers
** update params from grads (optimizers.c).
**
** lunet.register_layer(name, class) makes such a class saveable: the
** registry keeps name -> class and class -> name (LN_LAYER_CLASSES,
** LN_LAYER_NAMES), which Model:save and Model.load read through
** lunet.core._layer_name / _layer_class.
*/
#include <stdio.h>
#include <string.h>
#include "lunet.h"

#define LN_LAYER_CLASSES "lunet.layer_classes" /* registry: name -> class */
#define LN_LAYER_NAMES "lunet.layer_names"     /* registry: class -> name */

/* does the value at idx have a function in field k (through __index)? */
static int hasmethod(lua_State *L, int idx, const char *k) {
  int t;
  if (lua_type(L, idx) != LUA_TTABLE && lua_type(L, idx) != LUA_TUSERDATA) return 0;
  t = lua_getfield(L, idx, k);
  lua_pop(L, 1);
  return t == LUA_TFUNCTION;
}

int ln_islualayer(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (ln_tolayer(L, idx) != NULL || ln_totensor(L, idx) != NULL) return 0;
  if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) { /* another lunet object? */
    int lunet = 0;
    if (lua_getfield(L, -1, "__name") == LUA_TSTRING) lunet = strncmp(lua_tostring(L, -1), "lunet.", 6) == 0;
    lua_pop(L, 2);
    if (lunet) return 0;
  }
  return hasmethod(L, idx, "forward") && hasmethod(L, idx, "backward");
}

/* push the registered name of the layer's class (its metatable, or that
** metatable's __index), or nothing and return 0 */
static int pushclassname(lua_State *L, int idx) {
  int k, top = lua_gettop(L);
  idx = lua_absindex(L, idx);
  if (!lua_getmetatable(L, idx)) return 0;                  /* mt */
  if (lua_getfield(L, LUA_REGISTRYINDEX, LN_LAYER_NAMES) != LUA_TTABLE) { lua_settop(L, top); return 0; }
  for (k = 0; k < 2; k++) {                                 /* mt, names */
    if (k == 0) lua_pushvalue(L, -2);                       /* mt, names, mt */
    else {
      lua_pushliteral(L, "__index");
      lua_rawget(L, -3);                                    /* mt, names, mt.__index */
      if (lua_isnil(L, -1)) break;
    }
    if (lua_rawget(L, -2) == LUA_TSTRING) {                 /* mt, names, name */
      lua_replace(L, -3);
      lua_pop(L, 1);
      return 1;
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  return 0;
}

void ln_lualayer_describe(lua_State *L, int idx, char *buf, size_t n) {
  if (pushclassname(L, idx)) {
    snprintf(buf, n, "Lua layer %s", lua_tostring(L, -1));
    lua_pop(L, 1);
  } else snprintf(buf, n, "Lua layer");
}

/* call method `name` of the layer at layer with arg (a stack index) and,
** when training >= 0, that boolean; return the tensor it returns, left on
** the stack; raise prefixed by who on an error or anything but a tensor */
static ln_Tensor *callmethod(lua_State *L, int layer, const char *name, int arg, int training, const char *who) {
  ln_Tensor *t;
  layer = lua_absindex(L, layer);
  arg = lua_absindex(L, arg);
  lua_getfield(L, layer, name);
  lua_pushvalue(L, layer);
  lua_pushvalue(L, arg);
  if (training >= 0) lua_pushboolean(L, training);
  if (lua_pcall(L, training >= 0 ? 3 : 2, 1, 0) != LUA_OK) {
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : ln_typename(L, -1);
    ln_error(L, "%s: %s: %s", who, name, msg);
  }
  t = ln_totensor(L, -1);
  if (t == NULL)
    ln_error(L, "%s: %s must return a lunet.Tensor, got %s", who, name, ln_typename(L, -1));
  return t;
}

ln_Tensor *ln_lualayer_forward(lua_State *L, int layer, int in, int training, const char *who) {
  return callmethod(L, layer, "forward", in, training, who);
}

ln_Tensor *ln_lualayer_backward(lua_State *L, int layer, int dv, const char *who) {
  return callmethod(L, layer, "backward", dv, -1, who);
}

/* push field k of the layer as a list of tensors (an absent field: an
** empty list); returns its length */
static int tensorlist(lua_State *L, int layer, const char *k, const char *who) {
  int i, n, t = lua_getfield(L, layer, k);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
    return 0;
  }
  if (t != LUA_TTABLE) ln_error(L, "%s: self.%s must be a list of tensors, got %s", who, k, ln_typename(L, -1));
  n = (int)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (ln_totensor(L, -1) == NULL)
      ln_error(L, "%s: self.%s[%d] must be a lunet.Tensor, got %s", who, k, i, ln_typename(L, -1));
    lua_pop(L, 1);
  }
  return n;
}

int ln_lualayer_params(lua_State *L, int layer, int grads, const char *who) {
  int n, g, i;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  layer = lua_absindex(L, layer);
  n = tensorlist(L, layer, "params", who);
  if (!grads) return n;
  g = tensorlist(L, layer, "grads", who);
  if (g != n) ln_error(L, "%s: self.grads has %d tensors but self.params has %d", who, g, n);
  for (i = 1; i <= n; i++) {
    ln_Tensor *p, *d;
    lua_rawgeti(L, -2, i);
    lua_rawgeti(L, -2, i);
    p = ln_totensor(L, -2);
    d = ln_totensor(L, -1);
    if (!ln_sameshape(p, d))
      ln_error(L, "%s: self.grads[%d] is %s but self.params[%d] is %s (call backward first?)", who, i,
               ln_shapestr(d, sa), i, ln_shapestr(p, sb));
    if (p == d || ln_overlaps(p, d))
      ln_error(L, "%s: self.grads[%d] shares memory with self.params[%d]", who, i, i);
    lua_pop(L, 2);
  }
  return n;
}

/* the registry table at key, created when absent; pushes it */
static void registrytable(lua_State *L, const char *key) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
  }
}

static const char *const builtin[] = {
  "Dense", "Dropout", "Input", "ReLU", "Sigmoid", "Softmax", "Linear", "Lua", NULL
};

/* lunet.register_layer(name, class): class.load(fields) builds a layer
** from what Model:save wrote (class.saved lists the fields it writes) */
static int l_register_layer(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  size_t i, len = strlen(name);
  const char *who = "lunet.register_layer";
  if (len == 0 || len > 64) ln_error(L, "%s: name must have 1 to 64 characters, got %zu", who, len);
  for (i = 0; i < len; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
      ln_error(L, "%s: name '%s' may hold only letters, digits, '_' and '.'", who, name);
  }
  for (i = 0; builtin[i]; i++)
    if (strcmp(name, builtin[i]) == 0) ln_error(L, "%s: '%s' is the name of a built-in layer", who, name);
  if (!lua_istable(L, 2)) ln_error(L, "%s: argument 2 (class) must be a table, got %s", who, ln_typename(L, 2));
  if (!hasmethod(L, 2, "load"))
    ln_error(L, "%s: class '%s' has no load function (class.load(fields) must return a new layer)", who, name);
  if (!hasmethod(L, 2, "forward") || !hasmethod(L, 2, "backward"))
    ln_error(L, "%s: class '%s' needs forward and backward methods", who, name);
  if (lua_getfield(L, 2, "saved") != LUA_TNIL) {
    int n, k;
    if (!lua_istable(L, -1)) ln_error(L, "%s: class.saved must be a list of field names, got %s", who,
                                      ln_typename(L, -1));
    n = (int)lua_rawlen(L, -1);
    for (k = 1; k <= n; k++) {
      if (lua_rawgeti(L, -1, k) != LUA_TSTRING)
        ln_error(L, "%s: class.saved[%d] must be a string, got %s", who, k, ln_typename(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  registrytable(L, LN_LAYER_CLASSES);                        /* classes */
  if (lua_getfield(L, -1, name) == LUA_TTABLE) {             /* classes, old */
    registrytable(L, LN_LAYER_NAMES);                        /* classes, old, names */
    lua_pushvalue(L, -2);
    lua_pushnil(L);
    lua_rawset(L, -3);                                       /* names[old] = nil */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, name);                                 /* classes[name] = class */
  registrytable(L, LN_LAYER_NAMES);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 1);
  lua_rawset(L, -3);                                         /* names[class] = name */
  lua_pushvalue(L, 2);
  return 1;
}

/* lunet.core._layer_class(name) -> the registered class or nil */
static int l_layer_class(lua_State *L) {
  luaL_checkstring(L, 1);
  registrytable(L, LN_LAYER_CLASSES);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  return 1;
}

/* lunet.core._layer_name(layer) -> the registered name of its class or nil */
static int l_layer_name(lua_State *L) {
  if (!pushclassname(L, 1)) lua_pushnil(L);
  return 1;
}

/* lunet.core._is_lua_layer(v) */
static int l_is_lua_layer(lua_State *L) {
  lua_pushboolean(L, ln_islualayer(L, 1));
  return 1;
}

void ln_open_lualayer(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"register_layer", l_register_layer}, {"_layer_class", l_layer_class}, {"_layer_name", l_layer_name},
    {"_is_lua_layer", l_is_lua_layer}, {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
