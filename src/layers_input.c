/*
** layers_input.c: the layers that only shape data: lunet.Input (the book's
** Layer_Input; with sizes it declares a sample's shape) and lunet.Flatten
** (N x ... viewed as N x the rest).
*/
#include <stdio.h>
#include <string.h>
#include "layers.h"

/* =============================================================== Input */

/* lunet.Input(), Input(n) or Input(c, h, w): nd sizes of a sample (0: not
** declared) */
typedef struct Input {
  ln_Layer base;
  int nd;
  size_t dims[3];
} Input;

/* "Input", "Input(784)", "Input(1, 28, 28)" */
static void input_describe(const ln_Layer *l, char *buf, size_t n) {
  const Input *in = (const Input *)l;
  if (in->nd == 0) snprintf(buf, n, "Input");
  else if (in->nd == 1) snprintf(buf, n, "Input(%zu)", in->dims[0]);
  else snprintf(buf, n, "Input(%zu, %zu, %zu)", in->dims[0], in->dims[1], in->dims[2]);
}

/* the declared sample shape (unknown when none) */
static int input_outshape(const ln_Layer *l, int nd, const size_t *in, int *ond, size_t *out, char *err,
                          size_t n) {
  const Input *ip = (const Input *)l;
  int i;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  (void)sb;
  if (ip->nd == 0) return 0;
  if (nd >= 0 && (nd != ip->nd || memcmp(in, ip->dims, (size_t)nd * sizeof *in) != 0)) {
    snprintf(err, n, "declares samples of %s", ln_sampleshape(ip->nd, ip->dims, sa));
    return -1;
  }
  *ond = ip->nd;
  for (i = 0; i < ip->nd; i++) out[i] = ip->dims[i];
  return 1;
}

/* output = inputs (the same tensor, not a copy), checked against the
** declared shape */
static ln_Tensor *input_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  ln_Tensor *in;
  const Input *ip;
  (void)training;
  self = lua_absindex(L, self);
  ip = (const Input *)ln_checklayer(L, self, who);
  in = ln_argtensor(L, in_idx, "inputs", who);
  if (ip->nd > 0) {
    char err[256], desc[64], sa[LN_SHAPELEN];
    int ond;
    size_t o[3];
    if (in->ndim < 1 || input_outshape(&ip->base, in->ndim - 1, in->dims + 1, &ond, o, err, sizeof err) < 0) {
      input_describe(&ip->base, desc, sizeof desc);
      ln_error(L, "%s: inputs are %s, expected %s x %s (%s)", who, ln_shapestr(in, sa), "N",
               ln_sampleshape(ip->nd, ip->dims, err), desc);
    }
  }
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_OUTPUT);
  return in;
}

/* dinputs = dvalues (passed through) */
static ln_Tensor *input_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Tensor *dv, *out;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  self = lua_absindex(L, self);
  ln_checklayer(L, self, who);
  dv = ln_argtensor(L, dv_idx, "dvalues", who);
  out = ln_getuv(L, self, LN_UV_OUTPUT);
  if (out == NULL) ln_error(L, "%s: no forward pass yet (call forward before backward)", who);
  if (!ln_sameshape(dv, out))
    ln_error(L, "%s: dvalues are %s, expected %s (the last forward's output shape)", who,
             ln_shapestr(dv, sa), ln_shapestr(out, sb));
  lua_pushvalue(L, dv_idx);
  ln_setuv(L, self, LN_UV_DINPUTS);
  return dv;
}

/* input.shape: { c, h, w } or { n } as declared, nil when not */
static int input_field(lua_State *L, const ln_Layer *l, const char *k) {
  const Input *ip = (const Input *)l;
  int i;
  if (strcmp(k, "shape") != 0 || ip->nd == 0) return 0;
  lua_createtable(L, ip->nd, 0);
  for (i = 0; i < ip->nd; i++) {
    lua_pushinteger(L, (lua_Integer)ip->dims[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static const ln_LayerClass input_class = {
  "Input", 0, input_forward, input_backward, input_describe, NULL, 0, LN_KIND_INPUT, input_outshape, input_field, NULL,
  &ln_op_input, NULL
};

/* lunet.Input(), Input(n) or Input(c, h, w) */
static int l_input(lua_State *L) {
  static const char *const what[3] = { "argument 1", "argument 2", "argument 3" };
  int nargs = lua_gettop(L), i;
  size_t dims[3];
  Input *ip;
  if (nargs != 0 && nargs != 1 && nargs != 3)
    ln_error(L, "lunet.Input: takes no sizes, one (features) or three (channels, height, width), got %d "
             "arguments", nargs);
  for (i = 0; i < nargs; i++) dims[i] = ln_checksize(L, i + 1, what[i], "lunet.Input");
  if (nargs == 3 && (dims[0] > LN_MAXNUMEL / dims[1] || dims[0] * dims[1] > LN_MAXNUMEL / dims[2]))
    ln_error(L, "lunet.Input: %zu x %zu x %zu values a sample are too many", dims[0], dims[1], dims[2]);
  ip = (Input *)ln_newlayer(L, &input_class, sizeof *ip);
  ip->nd = nargs;
  for (i = 0; i < nargs; i++) ip->dims[i] = dims[i];
  return 1;
}

/* ============================================================= Flatten */

static void flatten_describe(const ln_Layer *l, char *buf, size_t n) {
  (void)l;
  snprintf(buf, n, "Flatten");
}

static int flatten_outshape(const ln_Layer *l, int nd, const size_t *in, int *ond, size_t *out, char *err,
                            size_t n) {
  int i;
  (void)l; (void)err; (void)n;
  if (nd < 0) return 0;
  *ond = 1;
  out[0] = 1;
  for (i = 0; i < nd; i++) out[0] *= in[i];
  return 1;
}

/* the view in user value uv of self over t's data in the shape nd, dims:
** the one made by the last call when it still fits (a training step makes
** no new object), else a new one */
static ln_Tensor *viewof(lua_State *L, int self, int uv, int t_idx, const ln_Tensor *t, int nd, const size_t *dims) {
  ln_Tensor *v = ln_getuv(L, self, uv);
  if (v && v->data == t->data && v->cap == t->cap && v->ndim == nd &&
      memcmp(v->dims, dims, (size_t)nd * sizeof *dims) == 0) {
    lua_getiuservalue(L, self, uv);
    lua_getiuservalue(L, -1, 1);       /* the view's storage ... */
    lua_getiuservalue(L, t_idx, 1);    /* ... is t's */
    if (lua_rawequal(L, -1, -2)) {
      lua_pop(L, 3);
      return v;
    }
    lua_pop(L, 3);
  }
  v = ln_pushview(L, t_idx, t->data, t->cap, nd, dims);
  ln_setuv(L, self, uv);
  return v;
}

/* output: a view of inputs as N x (the rest) */
static ln_Tensor *flatten_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  ln_Tensor *in, *out;
  size_t dims[2];
  (void)training;
  self = lua_absindex(L, self);
  in_idx = lua_absindex(L, in_idx);
  ln_checklayer(L, self, who);
  in = ln_argtensor(L, in_idx, "inputs", who);
  dims[0] = in->ndim ? in->dims[0] : 1;
  dims[1] = dims[0] ? in->numel / dims[0] : 0;
  out = viewof(L, self, LN_UV_OUTPUT, in_idx, in, 2, dims);
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_INPUTS);
  return out;
}

/* dinputs: a view of dvalues in the inputs' shape */
static ln_Tensor *flatten_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Tensor *in, *dv, *din;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  self = lua_absindex(L, self);
  dv_idx = lua_absindex(L, dv_idx);
  ln_checklayer(L, self, who);
  dv = ln_argtensor(L, dv_idx, "dvalues", who);
  in = ln_keptinputs(L, self, who);
  if (dv->numel != in->numel || dv->ndim != 2 || (in->ndim && dv->dims[0] != in->dims[0]))
    ln_error(L, "%s: dvalues are %s, expected %zux%zu (the last forward's output shape, inputs %s)", who,
             ln_shapestr(dv, sa), in->ndim ? in->dims[0] : 1, in->ndim && in->dims[0] ? in->numel / in->dims[0] : 0,
             ln_shapestr(in, sb));
  din = viewof(L, self, LN_UV_DINPUTS, dv_idx, dv, in->ndim, in->dims);
  return din;
}

static const ln_LayerClass flatten_class = {
  "Flatten", 0, flatten_forward, flatten_backward, flatten_describe, NULL, 0, LN_KIND_FLATTEN, flatten_outshape,
  NULL, NULL, &ln_op_flatten, NULL
};

static int l_flatten(lua_State *L) {
  ln_newlayer(L, &flatten_class, sizeof(ln_Layer));
  return 1;
}

void ln_open_layers_input(lua_State *L) {
  ln_newlayerclass(L, &input_class, NULL);
  ln_newlayerclass(L, &flatten_class, NULL);
  lua_pushcfunction(L, l_input);
  lua_setfield(L, -2, "Input");
  lua_pushcfunction(L, l_flatten);
  lua_setfield(L, -2, "Flatten");
}
