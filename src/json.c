/*
** json.c: JSON through cJSON for the model files' architecture: Lua values
** to text with sorted keys (the same table always gives the same bytes) and
** text to Lua values, strictly (no null, no key twice in an object, no
** \u0000, nothing after the value).  Tables with a positive length (or
** none at all) are arrays; others objects with string keys.  Integers stay
** integers both ways (while a double holds them exactly).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cJSON.h"
#include "lunet.h"
#include "kernels/st_format.h"

#define MAXDEPTH 64

typedef struct Box { cJSON *root; char *text; } Box;

static int box_gc(lua_State *L) {
  Box *b = (Box *)lua_touserdata(L, 1);
  if (b->root) cJSON_Delete(b->root);
  if (b->text) cJSON_free(b->text);
  b->root = NULL;
  b->text = NULL;
  return 0;
}

/* a to-be-closed box for what cJSON allocates, so an error frees it */
static Box *newbox(lua_State *L) {
  Box *b = (Box *)lua_newuserdatauv(L, sizeof *b, 0);
  b->root = NULL;
  b->text = NULL;
  if (luaL_newmetatable(L, "lunet.JsonBox")) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  lua_toclose(L, -1);
  return b;
}

static int cmpstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* is the table at idx an array (a positive length, or empty)? */
static int isarray(lua_State *L, int idx) {
  if (lua_rawlen(L, idx) > 0) return 1;
  lua_pushnil(L);
  if (lua_next(L, idx) == 0) return 1;
  lua_pop(L, 2);
  return 0;
}

/* raise unless the value at idx can be encoded (the build below then
** cannot fail half-way and leave cJSON items behind) */
static void check(lua_State *L, int idx, int depth, const char *who) {
  idx = lua_absindex(L, idx);
  if (depth > MAXDEPTH) ln_error(L, "%s: nested deeper than %d levels", who, MAXDEPTH);
  luaL_checkstack(L, 8, who);
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      if (strlen(s) != n || !ln_st_utf8ok(s, n)) ln_error(L, "%s: a string is not UTF-8 text without zero bytes", who);
      return;
    }
    case LUA_TNUMBER:
      if (!isfinite(lua_tonumber(L, idx)))
        ln_error(L, "%s: cannot encode %s", who, lua_tonumber(L, idx) != lua_tonumber(L, idx) ? "nan"
                 : lua_tonumber(L, idx) > 0 ? "inf" : "-inf");
      if (lua_isinteger(L, idx) && (lua_tointeger(L, idx) > ((lua_Integer)1 << 53) ||
                                    lua_tointeger(L, idx) < -((lua_Integer)1 << 53)))
        ln_error(L, "%s: integer %s is beyond 2^53 (a JSON number is a double)", who, lua_tostring(L, idx));
      return;
    case LUA_TTABLE:
      if (isarray(L, idx)) {
        lua_Integer i, n = (lua_Integer)lua_rawlen(L, idx);
        for (i = 1; i <= n; i++) { lua_rawgeti(L, idx, i); check(L, -1, depth + 1, who); lua_pop(L, 1); }
      } else {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
          if (lua_type(L, -2) != LUA_TSTRING)
            ln_error(L, "%s: object keys must be strings, got %s", who, luaL_typename(L, -2));
          check(L, -1, depth + 1, who);
          lua_pop(L, 1);
        }
      }
      return;
    default:
      ln_error(L, "%s: cannot encode a %s", who, luaL_typename(L, idx));
  }
}

/* the checked value at idx as a new cJSON item (NULL when out of memory) */
static cJSON *build(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TSTRING: return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TNUMBER: { /* our own digits: cJSON prints 15 and accepts them when within an ulp */
      char buf[40];
      if (lua_isinteger(L, idx)) snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
      else {
        double v = lua_tonumber(L, idx);
        int p;
        for (p = 15; p <= 17; p++) { /* the shortest that reads back exactly */
          snprintf(buf, sizeof buf, "%.*g", p, v);
          if (strtod(buf, NULL) == v) break;
        }
      }
      return cJSON_CreateRaw(buf);
    }
    default: break;
  }
  if (isarray(L, idx)) {
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, idx);
    cJSON *out = cJSON_CreateArray();
    for (i = 1; out && i <= n; i++) {
      lua_rawgeti(L, idx, i);
      if (!cJSON_AddItemToArray(out, build(L, -1))) { cJSON_Delete(out); out = NULL; }
      lua_pop(L, 1);
    }
    return out;
  } else { /* an object, its keys sorted */
    size_t m = 0, k = 0, j;
    const char **keys;
    cJSON *out = cJSON_CreateObject();
    lua_pushnil(L);
    while (lua_next(L, idx)) { m++; lua_pop(L, 1); }
    keys = (const char **)lua_newuserdatauv(L, m * sizeof *keys, 0);
    lua_pushnil(L);
    while (lua_next(L, idx)) { keys[k++] = lua_tostring(L, -2); lua_pop(L, 1); }
    qsort(keys, m, sizeof *keys, cmpstr);
    for (j = 0; out && j < m; j++) {
      lua_getfield(L, idx, keys[j]);
      if (!cJSON_AddItemToObject(out, keys[j], build(L, -1))) { cJSON_Delete(out); out = NULL; }
      lua_pop(L, 1);
    }
    lua_pop(L, 1); /* keys */
    return out;
  }
}

/* lunet._json_encode(v) -> text */
static int l_encode(lua_State *L) {
  const char *who = "json";
  Box *b;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  check(L, 1, 0, who);
  b = newbox(L);
  b->root = build(L, 1);
  if (b->root == NULL) ln_error(L, "%s: out of memory", who);
  b->text = cJSON_PrintUnformatted(b->root);
  if (b->text == NULL) ln_error(L, "%s: out of memory", who);
  lua_pushstring(L, b->text);
  return 1;
}

/* push the Lua value of item */
static void tolua(lua_State *L, const cJSON *item, int depth) {
  const cJSON *c;
  if (depth > MAXDEPTH) ln_error(L, "json: nested deeper than %d levels", MAXDEPTH);
  luaL_checkstack(L, 8, "json");
  if (cJSON_IsBool(item)) lua_pushboolean(L, cJSON_IsTrue(item));
  else if (cJSON_IsString(item)) lua_pushstring(L, item->valuestring);
  else if (cJSON_IsNumber(item)) {
    double v = item->valuedouble;
    if (v == floor(v) && fabs(v) <= 9007199254740992.0) lua_pushinteger(L, (lua_Integer)v);
    else lua_pushnumber(L, v);
  } else if (cJSON_IsArray(item)) {
    lua_Integer i = 0;
    lua_newtable(L);
    for (c = item->child; c; c = c->next) { tolua(L, c, depth + 1); lua_rawseti(L, -2, ++i); }
  } else if (cJSON_IsObject(item)) {
    lua_newtable(L);
    for (c = item->child; c; c = c->next) {
      lua_pushstring(L, c->string);
      if (lua_rawget(L, -2) != LUA_TNIL) ln_error(L, "json: key '%s' appears twice in an object", c->string);
      lua_pop(L, 1);
      tolua(L, c, depth + 1);
      lua_setfield(L, -2, c->string);
    }
  } else {
    ln_error(L, "json: null is not supported");
  }
}

/* lunet._json_decode(text) -> value */
static int l_decode(lua_State *L) {
  size_t n, at;
  const char *s = luaL_checklstring(L, 1, &n), *end = NULL;
  Box *b;
  lua_settop(L, 1);
  if ((at = ln_json_nul_escape(s, n)) < n) ln_error(L, "json: \\u0000 in a string at byte %zu", at);
  if (strlen(s) != n) ln_error(L, "json: a zero byte in the text");
  b = newbox(L);
  b->root = cJSON_ParseWithLengthOpts(s, n, &end, 0);
  if (b->root == NULL) {
    at = end && end >= s && end <= s + n ? (size_t)(end - s) : 0;
    ln_error(L, "json: not valid JSON (error near byte %zu of %zu)", at, n);
  }
  for (at = (size_t)(end - s); at < n; at++)
    if (s[at] != ' ' && s[at] != '\t' && s[at] != '\n' && s[at] != '\r')
      ln_error(L, "json: data after the value (byte %zu of %zu)", at, n);
  tolua(L, b->root, 0);
  return 1;
}

void ln_open_json(lua_State *L) {
  lua_pushcfunction(L, l_encode);
  lua_setfield(L, -2, "_json_encode");
  lua_pushcfunction(L, l_decode);
  lua_setfield(L, -2, "_json_decode");
}
