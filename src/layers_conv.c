/*
** layers_conv.c: lunet.Conv2D (API.md "Convolutions"), over the kernels of
** src/kernels/conv.h.  Images are N x C x H x W tensors.
**
** Conv2D is an im2row matrix product over blocks of samples that stay in
** cache, shared between the state's threads (ln_run_parts) by the engine's
** Conv2D jobs (engine/ops/conv.h, which Model:train's plan runs too).
*/
#include <stdio.h>
#include <string.h>
#include "layers.h"
#include "engine/pool.h"
#include "kernels/conv.h"
#include "engine/ops/conv.h"


/* ============================================================== Conv2D */

typedef struct Conv2D {
  ln_Trainable t;
  size_t in, out, kh, kw, sh, sw, ph, pw; /* ph, pw: padding on each side (unless same) */
  int same;                               /* padding = "same" */
  int init;
  int kept;               /* LN_UV_EXTRA4 holds the patches of the last (training) forward's inputs */
} Conv2D;

/* "Conv2D(1 -> 32, 3x3, stride 2, padding same)" */
static void conv_describe(const ln_Layer *l, char *buf, size_t n) {
  const Conv2D *c = (const Conv2D *)l;
  int at = snprintf(buf, n, "Conv2D(%zu -> %zu, %zux%zu", c->in, c->out, c->kh, c->kw);
  if (at < 0 || (size_t)at >= n) return;
  if (c->sh != 1 || c->sw != 1)
    at += snprintf(buf + at, n - (size_t)at, c->sh == c->sw ? ", stride %zu" : ", stride %zux%zu", c->sh, c->sw);
  if (at < 0 || (size_t)at >= n) return;
  if (c->same) snprintf(buf + at, n - (size_t)at, ", padding same)");
  else if (c->ph || c->pw)
    snprintf(buf + at, n - (size_t)at, c->ph == c->pw ? ", padding %zu)" : ", padding %zux%zu)", c->ph, c->pw);
  else snprintf(buf + at, n - (size_t)at, ")");
}

/* output rows and columns and the top/left padding for h x w images; 0
** when the kernel does not fit */
static int conv_geometry(const Conv2D *c, size_t h, size_t w, ln_ConvGeom *g) {
  memset(g, 0, sizeof *g);
  g->c = c->in;
  g->h = h;
  g->w = w;
  g->out = c->out;
  g->kh = c->kh;
  g->kw = c->kw;
  g->sh = c->sh;
  g->sw = c->sw;
  if (c->same) {
    ln_conv_same(h, c->kh, c->sh, &g->oh, &g->pt);
    ln_conv_same(w, c->kw, c->sw, &g->ow, &g->pl);
  } else {
    g->pt = c->ph;
    g->pl = c->pw;
    g->oh = ln_conv_outsize(h, c->kh, c->sh, 2 * c->ph);
    g->ow = ln_conv_outsize(w, c->kw, c->sw, 2 * c->pw);
  }
  return g->oh > 0 && g->ow > 0;
}

static int conv_outshape(const ln_Layer *l, int nd, const size_t *in, int *ond, size_t *out, char *err, size_t n) {
  const Conv2D *c = (const Conv2D *)l;
  ln_ConvGeom g;
  if (nd < 0) return 0;
  if (nd != 3 || in[0] != c->in) {
    snprintf(err, n, "expects images of %zu channel%s (C x H x W samples)", c->in, c->in == 1 ? "" : "s");
    return -1;
  }
  if (!conv_geometry(c, in[1], in[2], &g)) {
    snprintf(err, n, "cannot fit its %zux%zu kernel in %zux%zu images (padding %zux%zu)", c->kh, c->kw, in[1],
             in[2], c->ph, c->pw);
    return -1;
  }
  *ond = 3;
  out[0] = c->out;
  out[1] = g.oh;
  out[2] = g.ow;
  return 1;
}

/* the geometry of inputs `in`, or an error naming the layer and shapes */
static void conv_check(lua_State *L, const Conv2D *c, const ln_Tensor *in, ln_ConvGeom *g, const char *who) {
  char err[200], desc[128], sa[LN_SHAPELEN];
  size_t o[3];
  int ond;
  if (in->ndim != 4 || conv_outshape(&c->t.base, 3, in->dims + 1, &ond, o, err, sizeof err) < 0) {
    conv_describe(&c->t.base, desc, sizeof desc);
    if (in->ndim != 4)
      ln_error(L, "%s: inputs are %s, expected N x %zu x H x W images (%s)", who, ln_shapestr(in, sa), c->in, desc);
    ln_error(L, "%s: inputs are %s: %s (%s)", who, ln_shapestr(in, sa), err, desc);
  }
  conv_geometry(c, in->dims[2], in->dims[3], g);
  g->n = in->dims[0];
}

/* the class's passes run the engine's Conv2D jobs (engine/ops/conv.h) on
** the state's threads */
static void conv_forward_job(ln_Pool *p, void *arg, int part, int parts) {
  (void)p;
  ln_convjob_forward((const ln_ConvJob *)arg, part, parts);
}

static void conv_backward_job(ln_Pool *p, void *arg, int part, int parts) {
  unsigned nbar = 0;
  ln_convjob_backward((const ln_ConvJob *)arg, p, part, parts, &nbar);
}

/* the job's blocking and scratch (one slot per thread that may run it) */
static void conv_prepare(lua_State *L, int self, ln_ConvJob *j) {
  ln_convjob_size(j);
  j->scratch = ln_buffer2(L, self, LN_UV_EXTRA, (size_t)ln_threads(L), j->slot)->data;
}

/* output = conv(inputs, weights) + biases; keeps inputs */
static ln_Tensor *conv_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  Conv2D *c;
  ln_Tensor *in, *out, *w, *b;
  ln_ConvJob j;
  size_t dims[4], ckk;
  self = lua_absindex(L, self);
  in_idx = lua_absindex(L, in_idx);
  c = (Conv2D *)ln_checklayer(L, self, who);
  in = ln_argtensor(L, in_idx, "inputs", who);
  memset(&j, 0, sizeof j);
  conv_check(L, c, in, &j.g, who);
  ckk = c->in * c->kh * c->kw;
  dims[0] = j.g.n; dims[1] = c->out; dims[2] = j.g.oh; dims[3] = j.g.ow;
  out = ln_freshbuffer(L, self, LN_UV_OUTPUT, 4, dims, in, NULL);
  w = ln_getuv(L, self, LN_UV_WEIGHTS);
  b = ln_getuv(L, self, LN_UV_BIASES);
  j.x = in->data;
  j.w = w->data;
  j.b = b->data;
  j.y = out->data;
  conv_prepare(L, self, &j);
  /* training keeps the batch's patches for backward (they cost as much as
  ** the product's reads to rebuild) */
  j.Pall = training ? ln_buffer2(L, self, LN_UV_EXTRA4, j.g.n * j.g.oh * j.g.ow, ckk)->data : NULL;
  c->kept = 0;
  ln_run_parts(L, conv_forward_job, &j, (double)j.g.n * j.g.oh * j.g.ow * ckk * c->out);
  c->kept = training;
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_INPUTS);
  return out;
}

/* dweights, dbiases (with the regularizers' gradients) and dinputs */
static ln_Tensor *conv_backward(lua_State *L, int self, int dv_idx, const char *who) {
  Conv2D *c;
  ln_Tensor *in, *dv, *w, *dw, *db, *din;
  ln_ConvJob j;
  size_t ckk, o, q;
  int skip;
  char sa[LN_SHAPELEN];
  self = lua_absindex(L, self);
  dv_idx = lua_absindex(L, dv_idx);
  c = (Conv2D *)ln_checklayer(L, self, who);
  skip = c->t.base.skip_dinputs;
  c->t.base.skip_dinputs = 0;
  dv = ln_argtensor(L, dv_idx, "dvalues", who);
  in = ln_keptinputs(L, self, who);
  memset(&j, 0, sizeof j);
  conv_check(L, c, in, &j.g, who);
  if (dv->ndim != 4 || dv->dims[0] != j.g.n || dv->dims[1] != c->out || dv->dims[2] != j.g.oh ||
      dv->dims[3] != j.g.ow)
    ln_error(L, "%s: dvalues are %s, expected %zux%zux%zux%zu (the last forward's output shape)", who,
             ln_shapestr(dv, sa), j.g.n, c->out, j.g.oh, j.g.ow);
  ckk = c->in * c->kh * c->kw;
  w = ln_getuv(L, self, LN_UV_WEIGHTS);
  dw = ln_buffer_like(L, self, LN_UV_DWEIGHTS, w);
  db = ln_buffer2(L, self, LN_UV_DBIASES, 1, c->out);
  din = ln_freshbuffer(L, self, LN_UV_DINPUTS, in->ndim, in->dims, dv, in);
  j.x = in->data;
  j.w = w->data;
  j.dy = dv->data;
  conv_prepare(L, self, &j);
  if (c->kept) {
    ln_Tensor *pa = ln_getuv(L, self, LN_UV_EXTRA4);
    if (pa && pa->numel == j.g.n * j.g.oh * j.g.ow * ckk) {
      j.Pall = pa->data;
      j.have_patches = 1;
    }
  }
  j.dWT = ln_buffer2(L, self, LN_UV_EXTRA2, ckk, c->out)->data;
  j.dWpart = ln_buffer2(L, self, LN_UV_EXTRA3, ln_convjob_partials(&j) / (ckk * c->out), ckk * c->out)->data;
  j.db = db->data;
  j.dx = skip ? NULL : din->data; /* Model:train's first layer: dinputs left as they were */
  ln_run_parts(L, conv_backward_job, &j, 2.0 * j.g.n * j.g.oh * j.g.ow * ckk * c->out);
  for (o = 0; o < c->out; o++)
    for (q = 0; q < ckk; q++) dw->data[o * ckk + q] = j.dWT[q * c->out + o];
  ln_layer_reg_grad(L, self);
  return din;
}

/* conv.in_channels, out_channels, kernel {h, w}, stride {h, w}, padding
** ({h, w} or "same"), init */
static int conv_field(lua_State *L, const ln_Layer *l, const char *k) {
  const Conv2D *c = (const Conv2D *)l;
  if (strcmp(k, "in_channels") == 0) { lua_pushinteger(L, (lua_Integer)c->in); return 1; }
  if (strcmp(k, "out_channels") == 0) { lua_pushinteger(L, (lua_Integer)c->out); return 1; }
  if (strcmp(k, "kernel") == 0) return ln_pushpair(L, c->kh, c->kw);
  if (strcmp(k, "stride") == 0) return ln_pushpair(L, c->sh, c->sw);
  if (strcmp(k, "padding") == 0) {
    if (c->same) { lua_pushliteral(L, "same"); return 1; }
    return ln_pushpair(L, c->ph, c->pw);
  }
  if (strcmp(k, "init") == 0) { lua_pushstring(L, ln_initname((ln_Init)c->init)); return 1; }
  if (strcmp(k, "weight_regularizer_l1") == 0) { lua_pushnumber(L, c->t.weight_regularizer_l1); return 1; }
  if (strcmp(k, "weight_regularizer_l2") == 0) { lua_pushnumber(L, c->t.weight_regularizer_l2); return 1; }
  if (strcmp(k, "bias_regularizer_l1") == 0) { lua_pushnumber(L, c->t.bias_regularizer_l1); return 1; }
  if (strcmp(k, "bias_regularizer_l2") == 0) { lua_pushnumber(L, c->t.bias_regularizer_l2); return 1; }
  return 0;
}

/* its op's settings: 0 kh, 1 kw, 2 sh, 3 sw, 4 pt, 5 pl (engine/ops/conv.c) */
static void conv_node(ln_Layer *l, ln_Node *n) {
  ln_ConvGeom g;
  conv_geometry((const Conv2D *)l, n->ishape[1], n->ishape[2], &g);
  n->setting[0] = (double)g.kh; n->setting[1] = (double)g.kw; n->setting[2] = (double)g.sh;
  n->setting[3] = (double)g.sw; n->setting[4] = (double)g.pt; n->setting[5] = (double)g.pl;
}

static const ln_LayerClass conv_class = {
  "Conv2D", 1, conv_forward, conv_backward, conv_describe, NULL, 0, LN_KIND_CONV2D, conv_outshape, conv_field, NULL,
  &ln_op_conv2d, conv_node
};

/* lunet.Conv2D(in_channels, out_channels, kernel, { stride = 1, padding = 0,
** init = "he_normal", weight_regularizer_l1 = 0, ... }) */
static int l_conv2d(lua_State *L) {
  static const char *const opts[] = {
    "stride", "padding", "init", "weight_regularizer_l1", "weight_regularizer_l2", "bias_regularizer_l1",
    "bias_regularizer_l2", NULL
  };
  const char *who = "lunet.Conv2D";
  size_t in = ln_checksize(L, 1, "argument 1 (in_channels)", who);
  size_t out = ln_checksize(L, 2, "argument 2 (out_channels)", who);
  size_t kh, kw, sh, sw, ph = 0, pw = 0, dims[4];
  int same = 0;
  ln_Trainable regs;
  ln_Init init;
  Conv2D *c;
  ln_Tensor *w;
  if (lua_isnoneornil(L, 3)) ln_error(L, "%s: argument 3 (kernel) must be a number or a { h, w } pair, got nil", who);
  ln_checkpair(L, 3, NULL, "argument 3 (kernel)", 0, 0, &kh, &kw, who);
  ln_checkoptions(L, 4, who, opts);
  if (!lua_isnoneornil(L, 4)) {
    ln_checkpair(L, 4, "stride", "option 'stride'", 1, 0, &sh, &sw, who);
    if (lua_getfield(L, 4, "padding") == LUA_TSTRING) {
      if (strcmp(lua_tostring(L, -1), "same") != 0)
        ln_error(L, "%s: option 'padding' must be a number, a { h, w } pair or \"same\", got \"%s\"", who,
                 lua_tostring(L, -1));
      same = 1;
    } else ln_checkpair(L, 4, "padding", "option 'padding'", 0, 1, &ph, &pw, who);
    lua_pop(L, 1);
  } else sh = sw = 1;
  if (in > LN_MAXNUMEL / out || in * out > LN_MAXNUMEL / kh || in * out * kh > LN_MAXNUMEL / kw)
    ln_error(L, "%s: %zu x %zu x %zu x %zu weights are too many", who, out, in, kh, kw);
  ln_checkregs(L, 4, &regs, who);
  init = ln_optinit(L, 4, LN_INIT_HE_NORMAL, who);
  lua_settop(L, 0);
  c = (Conv2D *)ln_newlayer(L, &conv_class, sizeof *c);
  regs.base = c->t.base;
  c->t = regs;
  c->in = in; c->out = out; c->kh = kh; c->kw = kw; c->sh = sh; c->sw = sw; c->ph = ph; c->pw = pw;
  c->same = same;
  c->init = init;
  dims[0] = out; dims[1] = in; dims[2] = kh; dims[3] = kw;
  w = ln_newtensor(L, 4, dims);
  ln_initweights(L, init, in * kh * kw, out * kh * kw, w->numel, w->data);
  ln_setuv(L, 1, LN_UV_WEIGHTS);
  ln_newmatrix(L, 1, out);
  ln_setuv(L, 1, LN_UV_BIASES);
  return 1;
}

void ln_open_layers_conv(lua_State *L) {
  ln_newlayerclass(L, &conv_class, NULL);
  lua_pushcfunction(L, l_conv2d);
  lua_setfield(L, -2, "Conv2D");
}
