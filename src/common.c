/* common.c: errors, option tables, class registration, the generator. */
#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "lunet.h"

void ln_error(lua_State *L, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  luaL_where(L, 1);
  lua_pushstring(L, buf);
  lua_concat(L, 2);
  lua_error(L);
  for (;;) {} /* not reached */
}

const char *ln_typename(lua_State *L, int idx) {
  if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1); /* the metatable still holds the string */
    return s;
  }
  return luaL_typename(L, idx);
}

int ln_isclass(lua_State *L, int idx, const char *name) {
  int r = 0;
  if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
    luaL_getmetatable(L, name);
    r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  return r;
}

/* ------------------------------------------------------------ options */

void ln_checkoptions(lua_State *L, int idx, const char *who, const char *const allowed[]) {
  if (lua_isnoneornil(L, idx)) return;
  if (!lua_istable(L, idx))
    ln_error(L, "%s: options must be a table, got %s", who, luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int i, ok = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -1);
      for (i = 0; allowed[i]; i++)
        if (strcmp(allowed[i], k) == 0) { ok = 1; break; }
      if (!ok) {
        char list[512] = "";
        for (i = 0; allowed[i]; i++) {
          if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
          strncat(list, allowed[i], sizeof list - strlen(list) - 1);
        }
        ln_error(L, "%s: unknown option '%s' (expected one of: %s)", who, k, list);
      }
    } else {
      ln_error(L, "%s: option keys must be strings, got %s", who, luaL_typename(L, -1));
    }
  }
}

static int getopt(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_getfield(L, idx, key) == LUA_TNIL) { lua_pop(L, 1); return 0; }
  return 1;
}

lua_Number ln_optnumber(lua_State *L, int idx, const char *key, lua_Number def, const char *who) {
  lua_Number v;
  if (!getopt(L, idx, key)) return def;
  if (!lua_isnumber(L, -1))
    ln_error(L, "%s: option '%s' must be a number, got %s", who, key, luaL_typename(L, -1));
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (v != v) ln_error(L, "%s: option '%s' is NaN", who, key);
  return v;
}

lua_Integer ln_optinteger(lua_State *L, int idx, const char *key, lua_Integer def, const char *who) {
  lua_Integer v;
  int isnum;
  if (!getopt(L, idx, key)) return def;
  v = lua_tointegerx(L, -1, &isnum);
  if (!isnum)
    ln_error(L, "%s: option '%s' must be an integer, got %s", who, key,
             lua_type(L, -1) == LUA_TNUMBER ? "a non-integer number" : luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

int ln_optboolean(lua_State *L, int idx, const char *key, int def, const char *who) {
  int v;
  if (!getopt(L, idx, key)) return def;
  if (!lua_isboolean(L, -1))
    ln_error(L, "%s: option '%s' must be a boolean, got %s", who, key, luaL_typename(L, -1));
  v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* ------------------------------------------------------------ classes */

/* __index: methods table (upvalue 1), then the class's field getter (upvalue 2) */
static int class_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  if (!lua_isnil(L, lua_upvalueindex(2))) {
    lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(2));
    return f(L);
  }
  return 0;
}

/* "takes no arguments", "takes at most 2 arguments" */
static LN_NORETURN void toomany(lua_State *L, const char *who, int nargs, int got) {
  if (nargs == 0) ln_error(L, "%s: takes no arguments, got %d", who, got);
  ln_error(L, "%s: takes at most %d argument%s, got %d", who, nargs, nargs == 1 ? "" : "s", got);
}

/* a method: checks that self (argument 1) has the class's metatable
** (upvalue 2), so obj.method(x) -- a '.' for a ':' -- says so instead of
** complaining about x, and that at most upvalue 4 arguments follow, then
** runs the method's C function (upvalue 1); upvalue 3 is "Class:method" */
static int method_call(lua_State *L) {
  lua_Integer nargs = lua_tointeger(L, lua_upvalueindex(4));
  int ok = lua_getmetatable(L, 1);
  if (ok) {
    ok = lua_rawequal(L, -1, lua_upvalueindex(2));
    lua_pop(L, 1);
  }
  if (!ok) {
    const char *who = lua_tostring(L, lua_upvalueindex(3)), *colon = strchr(who, ':');
    lua_getfield(L, lua_upvalueindex(2), "__name");
    ln_error(L, "%s: self must be a %s, got %s: call the method with ':' (obj:%s(...)), not '.'", who,
             lua_tostring(L, -1), ln_typename(L, 1), colon ? colon + 1 : who);
  }
  if (nargs >= 0 && lua_gettop(L) - 1 > nargs) toomany(L, lua_tostring(L, lua_upvalueindex(3)), (int)nargs,
                                                   lua_gettop(L) - 1);
  return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

/* a function whose arguments are counted: upvalue 1 the C function, 2 the
** most arguments, 3 its name */
static int limited_call(lua_State *L) {
  lua_Integer nargs = lua_tointeger(L, lua_upvalueindex(2));
  if (lua_gettop(L) > nargs) toomany(L, lua_tostring(L, lua_upvalueindex(3)), (int)nargs, lua_gettop(L));
  return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

void ln_limitargs(lua_State *L, const char *key, int nargs, const char *who) {
  lua_getfield(L, -1, key);
  /* a C closure's function reads its own upvalues: it counts its arguments itself */
  if (!lua_iscfunction(L, -1) || lua_getupvalue(L, -1, 1) != NULL)
    ln_error(L, "lunet: %s is not a plain C function", who);
  lua_pushinteger(L, nargs);
  lua_pushstring(L, who);
  lua_pushcclosure(L, limited_call, 3);
  lua_setfield(L, -2, key);
}

void ln_addmethods(lua_State *L, const char *name, const ln_Method *methods) {
  const char *short_name = strncmp(name, "lunet.", 6) == 0 ? name + 6 : name;
  luaL_getmetatable(L, name);                  /* mt */
  lua_getfield(L, -1, "__methods");            /* mt, methods */
  for (; methods && methods->name; methods++) {
    lua_pushcfunction(L, methods->func);
    lua_pushvalue(L, -3);
    lua_pushfstring(L, "%s:%s", short_name, methods->name);
    lua_pushinteger(L, methods->nargs);
    lua_pushcclosure(L, method_call, 4);
    lua_setfield(L, -2, methods->name);
  }
  lua_pop(L, 2);
}

void ln_newclass(lua_State *L, const char *name, const ln_Method *methods,
                 const luaL_Reg *metamethods, lua_CFunction getfield) {
  luaL_newmetatable(L, name);                  /* mt */
  if (metamethods) luaL_setfuncs(L, metamethods, 0);
  lua_newtable(L);                             /* mt, methods */
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__methods");
  ln_addmethods(L, name, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__methods");            /* mt.__methods = methods (Lua helpers add to it) */
  if (getfield) lua_pushcfunction(L, getfield); else lua_pushnil(L);
  lua_pushcclosure(L, class_index, 2);         /* mt, __index */
  lua_setfield(L, -2, "__index");
}

/* -------------------------------------------------------------- rng */

#define RNG_KEY "lunet.rng"

ln_Rng *ln_getrng(lua_State *L) {
  ln_Rng *r;
  lua_getfield(L, LUA_REGISTRYINDEX, RNG_KEY);
  r = (ln_Rng *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (r == NULL) ln_error(L, "lunet: generator missing (module not opened?)");
  return r;
}

void ln_rng_push(lua_State *L, const ln_Rng *r) {
  char hex[4][17];
  int i;
  lua_createtable(L, 0, 3);
  lua_createtable(L, 4, 0);
  for (i = 0; i < 4; i++) {
    snprintf(hex[i], sizeof hex[i], "%016llx", (unsigned long long)r->s[i]);
    lua_pushstring(L, hex[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "state");
  lua_pushnumber(L, r->has_spare ? r->spare : 0.0);
  lua_setfield(L, -2, "spare");
  lua_pushboolean(L, r->has_spare);
  lua_setfield(L, -2, "has_spare");
}

void ln_rng_read(lua_State *L, int idx, ln_Rng *r, const char *who) {
  ln_Rng t;
  int i;
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) ln_error(L, "%s: the generator state must be a table, got %s", who, ln_typename(L, idx));
  memset(&t, 0, sizeof t);
  if (lua_getfield(L, idx, "state") != LUA_TTABLE || lua_rawlen(L, -1) != 4)
    ln_error(L, "%s: the generator state needs 'state', a list of 4 hexadecimal words", who);
  for (i = 0; i < 4; i++) {
    const char *h;
    char *end;
    lua_rawgeti(L, -1, i + 1);
    h = lua_tostring(L, -1);
    if (h == NULL || strlen(h) != 16) ln_error(L, "%s: generator word %d must be 16 hexadecimal digits", who, i + 1);
    t.s[i] = (uint64_t)strtoull(h, &end, 16);
    if (*end != '\0') ln_error(L, "%s: generator word %d must be 16 hexadecimal digits, got %s", who, i + 1, h);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (t.s[0] == 0 && t.s[1] == 0 && t.s[2] == 0 && t.s[3] == 0)
    ln_error(L, "%s: a generator state of all zeros is not one xoshiro256** can have", who);
  lua_getfield(L, idx, "has_spare");
  t.has_spare = lua_toboolean(L, -1);
  lua_getfield(L, idx, "spare");
  t.spare = (double)lua_tonumber(L, -1);
  lua_pop(L, 2);
  if (t.has_spare && !isfinite(t.spare)) ln_error(L, "%s: the generator's spare value must be finite", who);
  *r = t;
}

/* lunet._rng_state() / lunet._set_rng_state(t): the state's generator as a
** table (Model.load keeps it untouched) */
static int l_rng_state(lua_State *L) {
  ln_rng_push(L, ln_getrng(L));
  return 1;
}

static int l_set_rng_state(lua_State *L) {
  ln_rng_read(L, 1, ln_getrng(L), "lunet._set_rng_state");
  return 0;
}

/* lunet.seed(n): reseed the generator of this Lua state */
static int l_seed(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  ln_rng_seed(ln_getrng(L), (uint64_t)n);
  return 0;
}

void ln_open_rng(lua_State *L) {
  ln_Rng *r = (ln_Rng *)lua_newuserdatauv(L, sizeof *r, 0);
  ln_rng_seed(r, 0); /* like nnfs.init(): deterministic until seeded */
  lua_setfield(L, LUA_REGISTRYINDEX, RNG_KEY);
  lua_pushcfunction(L, l_seed);
  lua_setfield(L, -2, "seed");
  lua_pushcfunction(L, l_rng_state);
  lua_setfield(L, -2, "_rng_state");
  lua_pushcfunction(L, l_set_rng_state);
  lua_setfield(L, -2, "_set_rng_state");
}
