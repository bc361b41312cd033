/*
** layers_pool.c: lunet.MaxPool2D (API.md "Convolutions"): the maximum of
** each window of N x C x H x W images, planes split between the state's
** threads (kernels/conv.h).
*/
#include <stdio.h>
#include <string.h>
#include "layers.h"
#include "engine/pool.h"
#include "kernels/conv.h"

/* =========================================================== MaxPool2D */

typedef struct MaxPool {
  ln_Layer base;
  size_t kh, kw, sh, sw;
} MaxPool;

static void pool_describe(const ln_Layer *l, char *buf, size_t n) {
  const MaxPool *m = (const MaxPool *)l;
  if (m->kh == m->kw && m->sh == m->kh && m->sw == m->kw) snprintf(buf, n, "MaxPool2D(%zu)", m->kh);
  else snprintf(buf, n, "MaxPool2D(%zux%zu, stride %zux%zu)", m->kh, m->kw, m->sh, m->sw);
}

static int pool_outshape(const ln_Layer *l, int nd, const size_t *in, int *ond, size_t *out, char *err, size_t n) {
  const MaxPool *m = (const MaxPool *)l;
  if (nd < 0) return 0;
  if (nd != 3) {
    snprintf(err, n, "expects images (C x H x W samples)");
    return -1;
  }
  if (in[1] < m->kh || in[2] < m->kw) {
    snprintf(err, n, "cannot fit its %zux%zu window in %zux%zu images", m->kh, m->kw, in[1], in[2]);
    return -1;
  }
  *ond = 3;
  out[0] = in[0];
  out[1] = (in[1] - m->kh) / m->sh + 1;
  out[2] = (in[2] - m->kw) / m->sw + 1;
  return 1;
}

typedef struct PoolJob {
  const MaxPool *m;
  size_t planes, h, w, oh, ow;
  const float *x, *dy;
  float *y, *arg, *dx;
} PoolJob;

static void pool_forward_job(ln_Pool *p, void *arg, int part, int parts) {
  PoolJob *j = (PoolJob *)arg;
  size_t lo, hi;
  (void)p;
  ln_partrange(j->planes, 1, part, parts, &lo, &hi);
  if (hi > lo)
    ln_maxpool_forward(j->h, j->w, j->m->kh, j->m->kw, j->m->sh, j->m->sw, j->oh, j->ow, j->x, lo, hi, j->y, j->arg);
}

static void pool_backward_job(ln_Pool *p, void *arg, int part, int parts) {
  PoolJob *j = (PoolJob *)arg;
  size_t lo, hi;
  (void)p;
  ln_partrange(j->planes, 1, part, parts, &lo, &hi);
  if (hi > lo) ln_maxpool_backward(j->h, j->w, j->oh, j->ow, j->dy, j->arg, lo, hi, j->dx);
}

/* the output shape for inputs in, or an error */
static void pool_check(lua_State *L, const MaxPool *m, const ln_Tensor *in, size_t o[3], const char *who) {
  char err[200], desc[64], sa[LN_SHAPELEN];
  int ond;
  if (in->ndim != 4 || pool_outshape(&m->base, 3, in->dims + 1, &ond, o, err, sizeof err) < 0) {
    pool_describe(&m->base, desc, sizeof desc);
    if (in->ndim != 4) ln_error(L, "%s: inputs are %s, expected N x C x H x W images (%s)", who, ln_shapestr(in, sa), desc);
    ln_error(L, "%s: inputs are %s: %s (%s)", who, ln_shapestr(in, sa), err, desc);
  }
  if (in->dims[2] * in->dims[3] >= ((size_t)1 << 24)) /* the maxima's positions are kept as floats */
    ln_error(L, "%s: inputs are %s: images of 2^24 pixels or more are more than MaxPool2D takes", who,
             ln_shapestr(in, sa));
}

static ln_Tensor *pool_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  MaxPool *m;
  ln_Tensor *in, *out;
  PoolJob j;
  size_t o[3], dims[4];
  (void)training;
  self = lua_absindex(L, self);
  in_idx = lua_absindex(L, in_idx);
  m = (MaxPool *)ln_checklayer(L, self, who);
  in = ln_argtensor(L, in_idx, "inputs", who);
  pool_check(L, m, in, o, who);
  dims[0] = in->dims[0]; dims[1] = o[0]; dims[2] = o[1]; dims[3] = o[2];
  out = ln_freshbuffer(L, self, LN_UV_OUTPUT, 4, dims, in, NULL);
  memset(&j, 0, sizeof j);
  j.m = m;
  j.planes = in->dims[0] * in->dims[1];
  j.h = in->dims[2]; j.w = in->dims[3]; j.oh = o[1]; j.ow = o[2];
  j.x = in->data;
  j.y = out->data;
  j.arg = ln_buffer(L, self, LN_UV_EXTRA, 4, dims)->data;
  ln_run_parts(L, pool_forward_job, &j, (double)in->numel);
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_INPUTS);
  return out;
}

static ln_Tensor *pool_backward(lua_State *L, int self, int dv_idx, const char *who) {
  MaxPool *m;
  ln_Tensor *in, *dv, *din, *out;
  PoolJob j;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  self = lua_absindex(L, self);
  m = (MaxPool *)ln_checklayer(L, self, who);
  dv = ln_argtensor(L, dv_idx, "dvalues", who);
  in = ln_keptinputs(L, self, who);
  out = ln_getuv(L, self, LN_UV_EXTRA);
  if (!ln_sameshape(dv, out))
    ln_error(L, "%s: dvalues are %s, expected %s (the last forward's output shape)", who, ln_shapestr(dv, sa),
             ln_shapestr(out, sb));
  din = ln_freshbuffer(L, self, LN_UV_DINPUTS, in->ndim, in->dims, dv, in);
  memset(&j, 0, sizeof j);
  j.m = m;
  j.planes = in->dims[0] * in->dims[1];
  j.h = in->dims[2]; j.w = in->dims[3]; j.oh = out->dims[2]; j.ow = out->dims[3];
  j.dy = dv->data;
  j.arg = out->data;
  j.dx = din->data;
  ln_run_parts(L, pool_backward_job, &j, (double)in->numel);
  return din;
}

/* its op's settings: 0 kh, 1 kw, 2 sh, 3 sw (engine/ops/conv.c) */
static void pool_node(ln_Layer *l, ln_Node *n) {
  const MaxPool *m = (const MaxPool *)l;
  n->setting[0] = (double)m->kh; n->setting[1] = (double)m->kw; n->setting[2] = (double)m->sh;
  n->setting[3] = (double)m->sw;
}

static int pool_field(lua_State *L, const ln_Layer *l, const char *k) {
  const MaxPool *m = (const MaxPool *)l;
  if (strcmp(k, "size") == 0) return ln_pushpair(L, m->kh, m->kw);
  if (strcmp(k, "stride") == 0) return ln_pushpair(L, m->sh, m->sw);
  return 0;
}

static const ln_LayerClass pool_class = {
  "MaxPool2D", 0, pool_forward, pool_backward, pool_describe, NULL, 0, LN_KIND_MAXPOOL2D, pool_outshape, pool_field, NULL,
  &ln_op_maxpool2d, pool_node
};

/* lunet.MaxPool2D(size, { stride = size }) */
static int l_maxpool(lua_State *L) {
  static const char *const opts[] = { "stride", NULL };
  const char *who = "lunet.MaxPool2D";
  MaxPool *m;
  size_t kh, kw, sh, sw;
  if (lua_isnoneornil(L, 1)) ln_error(L, "%s: argument 1 (size) must be a number or a { h, w } pair, got nil", who);
  ln_checkpair(L, 1, NULL, "argument 1 (size)", 0, 0, &kh, &kw, who);
  ln_checkoptions(L, 2, who, opts);
  if (!lua_isnoneornil(L, 2)) ln_checkpair(L, 2, "stride", "option 'stride'", 0, 0, &sh, &sw, who);
  else sh = 0;
  if (sh == 0) { sh = kh; sw = kw; }
  m = (MaxPool *)ln_newlayer(L, &pool_class, sizeof *m);
  m->kh = kh; m->kw = kw; m->sh = sh; m->sw = sw;
  return 1;
}

void ln_open_layers_pool(lua_State *L) {
  ln_newlayerclass(L, &pool_class, NULL);
  lua_pushcfunction(L, l_maxpool);
  lua_setfield(L, -2, "MaxPool2D");
}
