/*
** tensor.c: lunet.Tensor, a float32 row-major contiguous array of 1 to 4
** dimensions.  The bytes live in a separate "storage" userdata (user value 1
** of the tensor), so views share it and keep it alive, and the Lua GC counts
** every byte (big temporaries are collected promptly).
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lunet.h"

#define ALIGN 64
#define BIGSTORAGE ((size_t)32 << 20) /* bytes from which a new storage collects first */

/* ============================================================ storage */

/* push a storage userdata holding n floats; returns the aligned data.  A
** big one (BIGSTORAGE bytes, and a quarter of what Lua holds) first runs a
** full collection: Lua's collector counts the bytes but starts a cycle only
** when memory has doubled since the last one, so `X = (X - 127.5) / 127.5`
** on Fashion-MNIST kept dead 188 MB tensors and peaked at 834 MB instead of
** the three live copies it needs.  Training allocates nothing per step, so
** it never gets here after its first batch */
static float *newstorage(lua_State *L, size_t n) {
  char *p;
  if (n * sizeof(float) >= BIGSTORAGE && (double)(n * sizeof(float)) / 1024.0 > lua_gc(L, LUA_GCCOUNT, 0) / 4.0)
    lua_gc(L, LUA_GCCOLLECT, 0);
  p = (char *)lua_newuserdatauv(L, n * sizeof(float) + ALIGN, 0);
  uintptr_t a = ((uintptr_t)p + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
  return (float *)a;
}

/* numel of dims, raising on sizes < 1 or overflow */
size_t ln_tensor_numel(lua_State *L, int ndim, const size_t *dims, const char *who) {
  size_t n = 1;
  int i;
  if (ndim < 1 || ndim > LN_MAXDIM)
    ln_error(L, "%s: tensors have 1 to %d dimensions, got %d", who, LN_MAXDIM, ndim);
  for (i = 0; i < ndim; i++) {
    if (dims[i] < 1) ln_error(L, "%s: size %d must be positive", who, i + 1);
    if (dims[i] > LN_MAXNUMEL / n)
      ln_error(L, "%s: tensor too large (more than 2^40 elements)", who);
    n *= dims[i];
  }
  return n;
}

static ln_Tensor *pushtensor(lua_State *L, int ndim, const size_t *dims, int zero) {
  size_t n = ln_tensor_numel(L, ndim, dims, "lunet.tensor");
  ln_Tensor *t = (ln_Tensor *)lua_newuserdatauv(L, sizeof *t, 1);
  int i;
  t->data = NULL; t->numel = 0; t->cap = 0; t->ndim = 1; t->dims[0] = 0;
  luaL_setmetatable(L, LN_TENSOR);
  t->data = newstorage(L, n);        /* t, storage */
  if (zero) memset(t->data, 0, n * sizeof(float));
  lua_setiuservalue(L, -2, 1);       /* t */
  t->numel = t->cap = n;
  t->ndim = ndim;
  for (i = 0; i < ndim; i++) t->dims[i] = dims[i];
  for (; i < LN_MAXDIM; i++) t->dims[i] = 1;
  return t;
}

ln_Tensor *ln_newtensor(lua_State *L, int ndim, const size_t *dims) {
  return pushtensor(L, ndim, dims, 1);
}

ln_Tensor *ln_newtensor_uninit(lua_State *L, int ndim, const size_t *dims) {
  return pushtensor(L, ndim, dims, 0);
}

ln_Tensor *ln_newmatrix(lua_State *L, size_t rows, size_t cols) {
  size_t d[2];
  d[0] = rows; d[1] = cols;
  return pushtensor(L, 2, d, 1);
}

ln_Tensor *ln_newvector(lua_State *L, size_t n) {
  return pushtensor(L, 1, &n, 1);
}

/* a new tensor header over the storage of the tensor at idx (a view) */
ln_Tensor *ln_pushview(lua_State *L, int idx, float *data, size_t cap, int ndim, const size_t *dims) {
  ln_Tensor *t;
  int i;
  idx = lua_absindex(L, idx);
  t = (ln_Tensor *)lua_newuserdatauv(L, sizeof *t, 1);
  t->data = data; t->cap = cap; t->ndim = ndim; t->numel = 1;
  for (i = 0; i < LN_MAXDIM; i++) {
    t->dims[i] = i < ndim ? dims[i] : 1;
    if (i < ndim) t->numel *= dims[i];
  }
  luaL_setmetatable(L, LN_TENSOR);
  lua_getiuservalue(L, idx, 1);
  lua_setiuservalue(L, -2, 1);
  return t;
}

ln_Tensor *ln_resize(lua_State *L, int idx, int ndim, const size_t *dims) {
  ln_Tensor *t = ln_checktensor(L, idx);
  size_t n = ln_tensor_numel(L, ndim, dims, "lunet: resize");
  int i;
  idx = lua_absindex(L, idx);
  if (n > t->cap) {
    float *d = newstorage(L, n);
    lua_setiuservalue(L, idx, 1);
    t->data = d;
    t->cap = n;
  }
  t->numel = n;
  t->ndim = ndim;
  for (i = 0; i < LN_MAXDIM; i++) t->dims[i] = i < ndim ? dims[i] : 1;
  return t;
}

/* ============================================================ helpers */

ln_Tensor *ln_totensor(lua_State *L, int idx) {
  return (ln_Tensor *)luaL_testudata(L, idx, LN_TENSOR);
}

ln_Tensor *ln_checktensor(lua_State *L, int idx) {
  ln_Tensor *t = ln_totensor(L, idx);
  if (t == NULL) {
    const char *msg = lua_pushfstring(L, "lunet.Tensor expected, got %s", ln_typename(L, idx));
    luaL_argerror(L, idx, msg);
  }
  return t;
}

const char *ln_shapestr(const ln_Tensor *t, char *buf) {
  int i;
  size_t off = 0;
  buf[0] = '\0';
  for (i = 0; i < t->ndim; i++)
    off += (size_t)snprintf(buf + off, LN_SHAPELEN - off, i ? "x%zu" : "%zu", t->dims[i]);
  return buf;
}

size_t ln_cols(const ln_Tensor *t) { return t->numel / t->dims[0]; }

int ln_overlaps(const ln_Tensor *a, const ln_Tensor *b) {
  uintptr_t a0 = (uintptr_t)a->data, a1 = a0 + a->cap * sizeof(float);
  uintptr_t b0 = (uintptr_t)b->data, b1 = b0 + b->cap * sizeof(float);
  return a0 < b1 && b0 < a1;
}

int ln_sameshape(const ln_Tensor *a, const ln_Tensor *b) {
  int i;
  if (a->ndim != b->ndim) return 0;
  for (i = 0; i < a->ndim; i++) if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

ln_Tensor *ln_getuv(lua_State *L, int obj, int uv) {
  ln_Tensor *t;
  lua_getiuservalue(L, obj, uv);
  t = ln_totensor(L, -1);
  lua_pop(L, 1);
  return t;
}

void ln_setuv(lua_State *L, int obj, int uv) {
  obj = lua_absindex(L, obj);
  lua_setiuservalue(L, obj, uv);
}

ln_Tensor *ln_buffer(lua_State *L, int obj, int uv, int ndim, const size_t *dims) {
  ln_Tensor *t;
  obj = lua_absindex(L, obj);
  lua_getiuservalue(L, obj, uv);
  if (ln_totensor(L, -1) == NULL) {
    lua_pop(L, 1);
    t = ln_newtensor_uninit(L, ndim, dims);
    lua_setiuservalue(L, obj, uv);
    return t;
  }
  t = ln_resize(L, -1, ndim, dims);
  lua_pop(L, 1);
  return t;
}

ln_Tensor *ln_buffer2(lua_State *L, int obj, int uv, size_t rows, size_t cols) {
  size_t d[2];
  d[0] = rows; d[1] = cols;
  return ln_buffer(L, obj, uv, 2, d);
}

ln_Tensor *ln_buffer_like(lua_State *L, int obj, int uv, const ln_Tensor *like) {
  size_t d[LN_MAXDIM];
  memcpy(d, like->dims, sizeof d);
  return ln_buffer(L, obj, uv, like->ndim, d);
}

/* ======================================================= basic methods */

static int m_shape(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  int i;
  for (i = 0; i < t->ndim; i++) lua_pushinteger(L, (lua_Integer)t->dims[i]);
  return t->ndim;
}

static int m_size(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  lua_Integer d;
  if (lua_isnoneornil(L, 2)) return m_shape(L);
  d = luaL_checkinteger(L, 2);
  if (d < 1 || d > t->ndim)
    ln_error(L, "Tensor:size: dimension %lld out of range for a %d-D tensor", (long long)d, t->ndim);
  lua_pushinteger(L, (lua_Integer)t->dims[d - 1]);
  return 1;
}

static int m_dim(lua_State *L) {
  lua_pushinteger(L, ln_checktensor(L, 1)->ndim);
  return 1;
}

static int m_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ln_checktensor(L, 1)->numel);
  return 1;
}

static int m_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ln_checktensor(L, 1)->dims[0]);
  return 1;
}

/* offset of the element at indices in args first.., checked */
static size_t checkoffset(lua_State *L, ln_Tensor *t, int first, int n, const char *who) {
  char sb[LN_SHAPELEN];
  size_t off = 0;
  int i;
  if (n != t->ndim)
    ln_error(L, "%s: %d indices given for a %d-D tensor of shape %s", who, n, t->ndim, ln_shapestr(t, sb));
  for (i = 0; i < n; i++) {
    int isnum;
    lua_Integer v = lua_tointegerx(L, first + i, &isnum);
    if (!isnum) ln_error(L, "%s: index %d must be an integer, got %s", who, i + 1, luaL_typename(L, first + i));
    if (v < 1 || (size_t)v > t->dims[i])
      ln_error(L, "%s: index %d is %lld, out of range 1..%zu (shape %s)", who, i + 1, (long long)v,
               t->dims[i], ln_shapestr(t, sb));
    off = off * t->dims[i] + (size_t)(v - 1);
  }
  return off;
}

static int m_get(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  size_t off = checkoffset(L, t, 2, lua_gettop(L) - 1, "Tensor:get");
  lua_pushnumber(L, (lua_Number)t->data[off]);
  return 1;
}

static int m_set(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  int top = lua_gettop(L), isnum;
  lua_Number v = lua_tonumberx(L, top, &isnum);
  size_t off;
  if (top < 3 || !isnum)
    ln_error(L, "Tensor:set: expected indices then a number value, got %s last", luaL_typename(L, top));
  off = checkoffset(L, t, 2, top - 2, "Tensor:set");
  t->data[off] = (float)v;
  return 0;
}

static void totable(lua_State *L, const ln_Tensor *t, int level, size_t *pos) {
  size_t i, n = t->dims[level];
  lua_createtable(L, (int)n, 0);
  for (i = 1; i <= n; i++) {
    if (level + 1 < t->ndim) totable(L, t, level + 1, pos);
    else lua_pushnumber(L, (lua_Number)t->data[(*pos)++]);
    lua_rawseti(L, -2, (lua_Integer)i);
  }
}

static int m_totable(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  size_t pos = 0;
  luaL_checkstack(L, t->ndim + 4, "Tensor:totable");
  totable(L, t, 0, &pos);
  return 1;
}

static int m_clone(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  ln_Tensor *c = ln_newtensor_uninit(L, t->ndim, t->dims);
  memcpy(c->data, t->data, t->numel * sizeof(float));
  return 1;
}

/* t:reshape(...): a view with new sizes (one may be -1) sharing the data */
static int m_reshape(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  size_t dims[LN_MAXDIM], known = 1;
  int n, i, infer = -1;
  char sb[LN_SHAPELEN];
  if (lua_istable(L, 2)) {
    n = (int)lua_rawlen(L, 2);
    if (n > LN_MAXDIM) ln_error(L, "Tensor:reshape: expected 1 to %d sizes, got %d", LN_MAXDIM, n);
    lua_settop(L, 2);
    for (i = 1; i <= n; i++) lua_rawgeti(L, 2, i);
    lua_remove(L, 2);
  }
  n = lua_gettop(L) - 1;
  if (n < 1 || n > LN_MAXDIM) ln_error(L, "Tensor:reshape: expected 1 to %d sizes, got %d", LN_MAXDIM, n);
  for (i = 0; i < n; i++) {
    int isnum;
    lua_Integer v = lua_tointegerx(L, i + 2, &isnum);
    if (!isnum) ln_error(L, "Tensor:reshape: size %d must be an integer, got %s", i + 1, luaL_typename(L, i + 2));
    if (v == -1 && infer < 0) { infer = i; dims[i] = 1; continue; }
    if (v < 1 || (unsigned long long)v > LN_MAXNUMEL)
      ln_error(L, "Tensor:reshape: size %d must be positive (or one -1), got %lld", i + 1, (long long)v);
    dims[i] = (size_t)v;
    if (dims[i] > LN_MAXNUMEL / known) /* checked before multiplying: no wrap-around to 0 */
      ln_error(L, "Tensor:reshape: sizes too large (more than 2^40 elements)");
    known *= dims[i];
  }
  if (infer >= 0) {
    if (t->numel % known)
      ln_error(L, "Tensor:reshape: cannot infer size %d: %zu elements (shape %s) not divisible by %zu",
               infer + 1, t->numel, ln_shapestr(t, sb), known);
    dims[infer] = t->numel / known;
    known = t->numel;
  }
  if (known != t->numel) {
    ln_Tensor want; /* only for printing the requested shape */
    char sw[LN_SHAPELEN];
    memset(&want, 0, sizeof want);
    want.ndim = n;
    memcpy(want.dims, dims, sizeof dims);
    ln_error(L, "Tensor:reshape: cannot reshape %s (%zu elements) to %s (%zu elements)", ln_shapestr(t, sb),
             t->numel, ln_shapestr(&want, sw), known);
  }
  ln_pushview(L, 1, t->data, t->cap, n, dims);
  return 1;
}

/* the sub-tensor at position i (1-based) along dimension 1, as a view */
static ln_Tensor *pushsub(lua_State *L, int idx, ln_Tensor *t, size_t first, size_t count, int keepdim) {
  size_t dims[LN_MAXDIM], stride = ln_cols(t);
  int nd = t->ndim, i;
  float *d = t->data + (first - 1) * stride;
  if (keepdim) {
    memcpy(dims, t->dims, sizeof dims);
    dims[0] = count;
  } else {
    for (i = 1; i < nd; i++) dims[i - 1] = t->dims[i];
    nd--;
  }
  return ln_pushview(L, idx, d, t->cap - (size_t)(d - t->data), nd, dims);
}

/* t:rows(first, last): view of rows first..last (last defaults to #t) */
static int m_rows(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  lua_Integer first = luaL_checkinteger(L, 2);
  lua_Integer last = luaL_optinteger(L, 3, (lua_Integer)t->dims[0]);
  char sb[LN_SHAPELEN];
  if (first < 1 || last < first || (size_t)last > t->dims[0])
    ln_error(L, "Tensor:rows: range %lld..%lld is out of 1..%zu (shape %s)", (long long)first,
             (long long)last, t->dims[0], ln_shapestr(t, sb));
  pushsub(L, 1, t, (size_t)first, (size_t)(last - first + 1), 1);
  return 1;
}

/* t:index(idx): rows gathered by a table or tensor of 1-based row numbers */
static int m_index(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1), *it = ln_totensor(L, 2), *out;
  size_t n, i, dims[LN_MAXDIM], stride = ln_cols(t);
  char sb[LN_SHAPELEN];
  if (it) n = it->numel;
  else if (lua_istable(L, 2)) n = lua_rawlen(L, 2);
  else return ln_error(L, "Tensor:index: argument 1 must be a table or tensor of row numbers, got %s",
                       ln_typename(L, 2)), 0;
  if (n == 0) ln_error(L, "Tensor:index: no row numbers given");
  memcpy(dims, t->dims, sizeof dims);
  dims[0] = n;
  out = ln_newtensor_uninit(L, t->ndim, dims);
  for (i = 0; i < n; i++) {
    double v;
    if (it) v = it->data[i];
    else {
      int isnum;
      lua_rawgeti(L, 2, (lua_Integer)(i + 1));
      v = lua_tonumberx(L, -1, &isnum);
      lua_pop(L, 1);
      if (!isnum) ln_error(L, "Tensor:index: entry %zu is not a number", i + 1);
    }
    if (!(v >= 1 && v <= (double)t->dims[0]) || v != floor(v))
      ln_error(L, "Tensor:index: entry %zu is %g, not a row number in 1..%zu (shape %s)", i + 1, v,
               t->dims[0], ln_shapestr(t, sb));
    memcpy(out->data + i * stride, t->data + ((size_t)v - 1) * stride, stride * sizeof(float));
  }
  return 1;
}

/* t:t(): transpose of a 2-D tensor (a copy) */
static int m_transpose(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1), *o;
  size_t r, c, R, C;
  char sb[LN_SHAPELEN];
  if (t->ndim != 2) ln_error(L, "Tensor:t: expected a 2-D tensor, got shape %s", ln_shapestr(t, sb));
  R = t->dims[0]; C = t->dims[1];
  o = ln_newmatrix(L, C, R);
  for (r = 0; r < R; r++)
    for (c = 0; c < C; c++) o->data[c * R + r] = t->data[r * C + c];
  return 1;
}

/* lunet.dot(a, b) / a:dot(b): matrix product of 2-D tensors */
static int l_dot(lua_State *L) {
  ln_Tensor *a = ln_checktensor(L, 1), *b = ln_checktensor(L, 2), *c;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  if (a->ndim != 2 || b->ndim != 2 || a->dims[1] != b->dims[0])
    ln_error(L, "lunet.dot: shapes %s and %s do not multiply (need AxK and KxB)", ln_shapestr(a, sa),
             ln_shapestr(b, sb));
  c = ln_newmatrix(L, a->dims[0], b->dims[1]);
  ln_gemm(0, 0, a->dims[0], b->dims[1], a->dims[1], 1.0f, a->data, a->dims[1], b->data, b->dims[1],
          0.0f, c->data, c->dims[1]);
  return 1;
}

/* ============================================================ filling */

static int m_fill_(lua_State *L) {
  ln_Tensor *a = ln_checktensor(L, 1);
  float v = (float)luaL_checknumber(L, 2);
  size_t i;
  for (i = 0; i < a->numel; i++) a->data[i] = v;
  lua_settop(L, 1);
  return 1;
}

/* t:copy_(src): copy values of a tensor with the same number of elements */
static int m_copy_(lua_State *L) {
  ln_Tensor *a = ln_checktensor(L, 1), *b = ln_checktensor(L, 2);
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  if (a->numel != b->numel)
    ln_error(L, "Tensor:copy_: shapes %s and %s hold different numbers of elements", ln_shapestr(a, sa),
             ln_shapestr(b, sb));
  memmove(a->data, b->data, a->numel * sizeof(float));
  lua_settop(L, 1);
  return 1;
}

/* t[i]: a number for 1-D tensors, else a view of the i-th sub-tensor */
static int getfield(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  int isnum;
  lua_Integer i = lua_tointegerx(L, 2, &isnum);
  char sb[LN_SHAPELEN];
  if (!isnum) return 0;
  if (i < 1 || (size_t)i > t->dims[0])
    ln_error(L, "Tensor: index %lld out of range 1..%zu (shape %s)", (long long)i, t->dims[0], ln_shapestr(t, sb));
  if (t->ndim == 1) lua_pushnumber(L, t->data[i - 1]);
  else pushsub(L, 1, t, (size_t)i, 1, 0);
  return 1;
}

/* t[i] = v for 1-D tensors; t[i] = x fills/copies sub-tensor i otherwise */
static int mm_newindex(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1), *src;
  int isnum;
  lua_Integer i = lua_tointegerx(L, 2, &isnum);
  size_t stride, k;
  char sb[LN_SHAPELEN], sc[LN_SHAPELEN];
  if (!isnum) ln_error(L, "Tensor: cannot set field '%s'", lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
  if (i < 1 || (size_t)i > t->dims[0])
    ln_error(L, "Tensor: index %lld out of range 1..%zu (shape %s)", (long long)i, t->dims[0], ln_shapestr(t, sb));
  stride = ln_cols(t);
  if (lua_type(L, 3) == LUA_TNUMBER) {
    float v = (float)lua_tonumber(L, 3);
    for (k = 0; k < stride; k++) t->data[(size_t)(i - 1) * stride + k] = v;
    return 0;
  }
  src = ln_totensor(L, 3);
  if (!src || src->numel != stride)
    ln_error(L, "Tensor: assigning %s to a slice of %zu elements of a tensor of shape %s",
             src ? ln_shapestr(src, sc) : luaL_typename(L, 3), stride, ln_shapestr(t, sb));
  memmove(t->data + (size_t)(i - 1) * stride, src->data, stride * sizeof(float));
  return 0;
}

static const ln_Method methods[] = {
  {"shape", m_shape, 0}, {"size", m_size, 1}, {"dim", m_dim, 0}, {"numel", m_numel, 0},
  {"get", m_get, -1}, {"set", m_set, -1}, {"totable", m_totable, 0}, {"clone", m_clone, 0},
  {"reshape", m_reshape, -1}, {"view", m_reshape, -1}, {"rows", m_rows, 2}, {"index", m_index, 1},
  {"t", m_transpose, 0}, {"dot", l_dot, 1},
  {"fill_", m_fill_, 1}, {"copy_", m_copy_, 1},
  {NULL, NULL, 0}
};

static const luaL_Reg metamethods[] = {
  {"__len", m_len}, {"__tostring", ln_tensor_tostring},
  {"__newindex", mm_newindex},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"dot", l_dot},
  {NULL, NULL}
};

void ln_open_tensor(lua_State *L) {
  ln_newclass(L, LN_TENSOR, methods, metamethods, getfield);
  lua_pop(L, 1);
  luaL_setfuncs(L, functions, 0);
  ln_open_tensor_new(L);
}
