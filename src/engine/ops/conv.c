/* ops/conv.c: the image kinds of the engine (inference): Conv2D, MaxPool2D,
** Flatten and BatchNormalization, over the kernels Lua's layers use
** (kernels/conv.h).  A row is one image, c x h x w values; the shapes come
** from the model's Input(c, h, w) through each node's ishape/oshape. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "../op.h"
#include "../../kernels/conv.h"
#include "../../kernels/kernels.h"
#include "conv.h"
#include "../plan.h"
#include "../../kernels/nn.h"

/* a positive (or, with allow0, non-negative) integer of the entry: number
** key, or element idx of list key */
static int getint(const ln_OpSpec *s, const char *key, int idx, int allow0, size_t *v, char *err, size_t errlen) {
  double d;
  int ok = idx < 0 ? s->number(s, key, &d) : s->element(s, key, idx, &d);
  if (!ok || !(d >= (allow0 ? 0 : 1) && d <= 1099511627776.0) || d != floor(d)) {
    if (idx < 0) snprintf(err, errlen, "%s must be a positive integer", key);
    else snprintf(err, errlen, "%s must be a list of 2 %s integers", key, allow0 ? "non-negative" : "positive");
    return -1;
  }
  *v = (size_t)d;
  return 0;
}

/* the node's input as c x h x w images, or -1 with a reason */
static int needimages(const ln_Node *n, const char *kind, char *err, size_t errlen) {
  if (n->ind != 3) {
    snprintf(err, errlen, "%s needs images: the model must start with lunet.Input(c, h, w) for the C API", kind);
    return -1;
  }
  return 0;
}

/* =============================================================== Conv2D
** setting: 0 kh, 1 kw, 2 sh, 3 sw, 4 pt, 5 pl, 6 samples a block */

static void conv_geom(const ln_Node *n, size_t rows, ln_ConvGeom *g) {
  memset(g, 0, sizeof *g);
  g->n = rows;
  g->c = n->ishape[0]; g->h = n->ishape[1]; g->w = n->ishape[2];
  g->out = n->oshape[0]; g->oh = n->oshape[1]; g->ow = n->oshape[2];
  g->kh = (size_t)n->setting[0]; g->kw = (size_t)n->setting[1];
  g->sh = (size_t)n->setting[2]; g->sw = (size_t)n->setting[3];
  g->pt = (size_t)n->setting[4]; g->pl = (size_t)n->setting[5];
}

static int conv_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  size_t cin, cout, kh, kw, sh, sw, ph = 0, pw = 0, oh, ow, pt, pl;
  const char *pad = s->string(s, "padding");
  ln_ConvGeom g;
  if (getint(s, "in_channels", -1, 0, &cin, err, errlen) || getint(s, "out_channels", -1, 0, &cout, err, errlen) ||
      getint(s, "kernel", 0, 0, &kh, err, errlen) || getint(s, "kernel", 1, 0, &kw, err, errlen) ||
      getint(s, "stride", 0, 0, &sh, err, errlen) || getint(s, "stride", 1, 0, &sw, err, errlen))
    return -1;
  if (pad != NULL && strcmp(pad, "same") != 0) {
    snprintf(err, errlen, "padding must be \"same\" or a list of 2 integers");
    return -1;
  }
  if (pad == NULL && (getint(s, "padding", 0, 1, &ph, err, errlen) || getint(s, "padding", 1, 1, &pw, err, errlen)))
    return -1;
  if (needimages(n, "Conv2D", err, errlen)) return -1;
  if (cin > 65536 || cout > 65536 || kh > 65536 || kw > 65536 || sh > 65536 || sw > 65536 || ph > 65536 ||
      pw > 65536) {
    snprintf(err, errlen, "sizes beyond 65536 are more than the C API takes");
    return -1;
  }
  if (n->ishape[0] != cin) {
    snprintf(err, errlen, "expects images of %zu channels, got %zux%zux%zu", cin, n->ishape[0], n->ishape[1],
             n->ishape[2]);
    return -1;
  }
  if (pad != NULL) {
    ln_conv_same(n->ishape[1], kh, sh, &oh, &pt);
    ln_conv_same(n->ishape[2], kw, sw, &ow, &pl);
  } else {
    pt = ph; pl = pw;
    oh = ln_conv_outsize(n->ishape[1], kh, sh, 2 * ph);
    ow = ln_conv_outsize(n->ishape[2], kw, sw, 2 * pw);
  }
  if (oh == 0 || ow == 0) {
    snprintf(err, errlen, "cannot fit its %zux%zu kernel in %zux%zu images", kh, kw, n->ishape[1], n->ishape[2]);
    return -1;
  }
  n->setting[0] = (double)kh; n->setting[1] = (double)kw; n->setting[2] = (double)sh; n->setting[3] = (double)sw;
  n->setting[4] = (double)pt; n->setting[5] = (double)pl;
  if (oh > ((size_t)1 << 28) / ow || cout > ((size_t)1 << 28) / (oh * ow) ||
      cin * kh * kw > ((size_t)1 << 28) / (oh * ow)) {
    snprintf(err, errlen, "its output or patches hold too many values");
    return -1;
  }
  n->ond = 3;
  n->oshape[0] = cout; n->oshape[1] = oh; n->oshape[2] = ow;
  n->out = cout * oh * ow;
  n->pnd[0] = 4;
  n->pdims[0][0] = cout; n->pdims[0][1] = cin; n->pdims[0][2] = kh; n->pdims[0][3] = kw;
  n->pnd[1] = 2;
  n->pdims[1][0] = 1; n->pdims[1][1] = cout;
  conv_geom(n, (size_t)1 << 30, &g);
  n->setting[6] = (double)ln_conv_block(&g);
  n->scratch = (size_t)n->setting[6] * oh * ow * (cin * kh * kw + cout);
  return 0;
}

/* as Conv2D:forward, block by block: patches, product, image */
static void conv_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  ln_ConvGeom g;
  size_t blk = (size_t)n->setting[6], s0, ckk, ohw;
  conv_geom(n, rows, &g);
  ckk = g.c * g.kh * g.kw;
  ohw = g.oh * g.ow;
  for (s0 = 0; s0 < rows; s0 += blk) {
    ln_ConvGeom b = g;
    float *P = scratch, *Yr = scratch + blk * ohw * ckk;
    b.n = rows - s0 < blk ? rows - s0 : blk;
    ln_conv_im2row(&b, in + s0 * n->in, 0, b.n * ohw, P);
    ln_gemm(0, 1, b.n * ohw, g.out, ckk, 1.0f, P, ckk, n->param[0], ckk, 0.0f, Yr, g.out);
    ln_conv_rows2img(&b, Yr, n->param[1], 0, b.n, out + s0 * n->out);
  }
}

/* --------------------------------------------------- Conv2D training
** (ops/conv.h explains the blocks and groups) */

void ln_convjob_size(ln_ConvJob *j) {
  size_t ohw = j->g.oh * j->g.ow, ckk = j->g.c * j->g.kh * j->g.kw, need, grp;
  j->blk = ln_conv_block(&j->g);
  need = (LN_CONV_GROUP_ROWS + ohw - 1) / ohw;
  grp = (need + j->blk - 1) / j->blk * j->blk;
  j->grp = grp > j->g.n ? j->g.n : grp;
  j->slot = j->blk * ohw * (2 * ckk + j->g.out);
}

size_t ln_convjob_partials(const ln_ConvJob *j) {
  return (j->g.n + j->grp - 1) / j->grp * j->g.c * j->g.kh * j->g.kw * j->g.out;
}

/* part `part`'s patches P, patch gradient dP and product rows Yr */
static void conv_slot(const ln_ConvJob *j, int part, float **P, float **dP, float **Yr) {
  size_t rows = j->blk * j->g.oh * j->g.ow, ckk = j->g.c * j->g.kh * j->g.kw;
  *P = j->scratch + (size_t)part * j->slot;
  *dP = *P + rows * ckk;
  *Yr = *dP + rows * ckk;
}

void ln_convjob_forward(const ln_ConvJob *j, int part, int parts) {
  size_t ckk = j->g.c * j->g.kh * j->g.kw, ohw = j->g.oh * j->g.ow, in_img = j->g.c * j->g.h * j->g.w;
  size_t out_img = j->g.out * ohw, lo, hi, b;
  float *P, *dP, *Yr;
  conv_slot(j, part, &P, &dP, &Yr);
  /* whole blocks counted from sample 0: every product call covers the same
  ** rows whatever the thread count (a BLAS may round a row differently in
  ** calls of other sizes) */
  ln_partrange((j->g.n + j->blk - 1) / j->blk, 1, part, parts, &lo, &hi);
  for (b = lo; b < hi; b++) {
    ln_ConvGeom g = j->g;
    size_t rows, s0 = b * j->blk;
    g.n = j->g.n - s0 < j->blk ? j->g.n - s0 : j->blk;
    rows = g.n * ohw;
    if (j->Pall) P = j->Pall + s0 * ohw * ckk; /* kept for backward (still in cache for the product) */
    ln_conv_im2row(&g, j->x + s0 * in_img, 0, rows, P);
    ln_gemm(0, 1, rows, g.out, ckk, 1.0f, P, ckk, j->w, ckk, 0.0f, Yr, g.out);
    ln_conv_rows2img(&g, Yr, j->b, 0, g.n, j->y + s0 * out_img);
  }
}

void ln_convjob_backward(const ln_ConvJob *j, ln_Pool *p, int part, int parts, unsigned *nbar) {
  size_t ckk = j->g.c * j->g.kh * j->g.kw, ohw = j->g.oh * j->g.ow, in_img = j->g.c * j->g.h * j->g.w;
  size_t out_img = j->g.out * ohw, nw = ckk * j->g.out, ngrp = (j->g.n + j->grp - 1) / j->grp;
  size_t lo, hi, gi, s0, o, e;
  float *P, *dP, *Yr;
  conv_slot(j, part, &P, &dP, &Yr);
  ln_partrange(ngrp, 1, part, parts, &lo, &hi);
  for (gi = lo; gi < hi; gi++) {
    size_t end = (gi + 1) * j->grp < j->g.n ? (gi + 1) * j->grp : j->g.n;
    for (s0 = gi * j->grp; s0 < end; s0 += j->blk) {
      ln_ConvGeom g = j->g;
      size_t rows;
      g.n = end - s0 < j->blk ? end - s0 : j->blk;
      rows = g.n * ohw;
      ln_conv_img2rows(&g, j->dy + s0 * out_img, 0, g.n, Yr);
      if (j->have_patches) P = j->Pall + s0 * ohw * ckk;
      else ln_conv_im2row(&g, j->x + s0 * in_img, 0, rows, P);
      /* this group's dW^T (ckk x out) += P^T dYr */
      ln_gemm(1, 0, ckk, g.out, rows, 1.0f, P, ckk, Yr, g.out, s0 == gi * j->grp ? 0.0f : 1.0f,
              j->dWpart + gi * nw, g.out);
      if (j->dx) { /* per sample: dPt (ckk x ohw) = W^T dy, added back into dx */
        size_t sn;
        for (sn = s0; sn < s0 + g.n; sn++) {
          ln_gemm(1, 0, ckk, ohw, g.out, 1.0f, j->w, ckk, j->dy + sn * out_img, ohw, 0.0f, dP, ohw);
          ln_conv_col2im(&g, dP, j->dx + sn * in_img);
        }
      }
    }
  }
  if (p) ln_pool_barrier(p, parts, ++*nbar);
  ln_partrange(nw, 64, part, parts, &lo, &hi);
  for (e = lo; e < hi; e++) {
    float acc = j->dWpart[e];
    for (gi = 1; gi < ngrp; gi++) acc += j->dWpart[gi * nw + e];
    j->dWT[e] = acc;
  }
  ln_partrange(j->g.out, 1, part, parts, &lo, &hi);
  for (o = lo; o < hi; o++) { /* from dy's planes, read in order */
    float acc = 0.0f;
    size_t sn, q;
    for (sn = 0; sn < j->g.n; sn++) {
      const float *pl = j->dy + sn * out_img + o * ohw;
      for (q = 0; q < ohw; q++) acc += pl[q];
    }
    j->db[o] = acc;
  }
}

/* the node's training job over the plan's batch: buffers 0 the parts'
** scratch, 1 dW^T, 2 the groups' partial dW^T, 3 the batch's patches */
static void conv_job(const ln_Plan *pl, const ln_FLayer *f, ln_ConvJob *j) {
  const ln_Node *n = &f->node;
  memset(j, 0, sizeof *j);
  conv_geom(n, pl->rows, &j->g);
  ln_convjob_size(j);
  j->x = f->in;
  j->w = n->param[0];
  j->b = n->param[1];
  j->y = f->out;
  j->scratch = f->buf[0];
  j->dWT = f->buf[1];
  j->dWpart = f->buf[2];
  j->Pall = f->buf[3];
}

static int conv_buffers(const ln_Node *n, size_t rows, int threads, int k, size_t dims[4]) {
  ln_ConvJob j;
  size_t ckk = n->ishape[0] * (size_t)n->setting[0] * (size_t)n->setting[1];
  memset(&j, 0, sizeof j);
  conv_geom(n, rows, &j.g);
  ln_convjob_size(&j);
  switch (k) {
    case 0: dims[0] = (size_t)threads; dims[1] = j.slot; return 2;
    case 1: dims[0] = ckk; dims[1] = j.g.out; return 2;
    case 2: dims[0] = ln_convjob_partials(&j) / (ckk * j.g.out); dims[1] = ckk * j.g.out; return 2;
    case 3: dims[0] = rows * j.g.oh * j.g.ow; dims[1] = ckk; return 2;
    default: return 0;
  }
}

static void conv_train_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  ln_ConvJob j;
  conv_job(pl, f, &j);
  ln_convjob_forward(&j, t->part, t->parts);
}

/* the job's backward (with the patches the forward kept), then this part's
** output channels of dweights (out x ckk, from dW^T) with the regularizers'
** gradients, as the class's backward adds them */
static void conv_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  ln_ConvJob j;
  size_t ckk, o0, o1, o, q, out;
  conv_job(pl, f, &j);
  j.dy = f->dv;
  j.dx = f->din;
  j.db = f->db;
  j.have_patches = 1;
  ln_convjob_backward(&j, t->pool, t->part, t->parts, t->nbar);
  ln_pool_barrier(t->pool, t->parts, ++*t->nbar); /* dW^T and dbiases complete */
  ckk = j.g.c * j.g.kh * j.g.kw;
  out = j.g.out;
  ln_partrange(out, 1, t->part, t->parts, &o0, &o1);
  for (o = o0; o < o1; o++)
    for (q = 0; q < ckk; q++) f->dw[o * ckk + q] = j.dWT[q * out + o];
  if (o1 > o0) {
    ln_nn_reg_grad((o1 - o0) * ckk, f->node.param[0] + o0 * ckk, f->wl1, f->wl2, f->dw + o0 * ckk);
    ln_nn_reg_grad(o1 - o0, f->node.param[1] + o0, f->bl1, f->bl2, f->db + o0);
  }
}

/* fused: a share of every weight and bias (the plan's barrier after this
** node's backward made its gradients complete) */
static void param_update(const ln_FLayer *f, int part, int parts) {
  ln_plan_update_share(&f->up[0], part, parts);
  ln_plan_update_share(&f->up[1], part, parts);
}

const ln_OpDef ln_op_conv2d = {
  .name = "Conv2D", .nparams = 2, .params = { "weights", "biases" }, .setup = conv_setup, .forward = conv_forward,
  .train_forward = conv_train_forward, .backward = conv_backward, .update = param_update, .whole = 1,
  .buffers = conv_buffers, .skip_din = 1
};

/* ============================================================ MaxPool2D
** setting: 0 kh, 1 kw, 2 sh, 3 sw */

static int pool_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  size_t kh, kw, sh, sw;
  if (getint(s, "size", 0, 0, &kh, err, errlen) || getint(s, "size", 1, 0, &kw, err, errlen) ||
      getint(s, "stride", 0, 0, &sh, err, errlen) || getint(s, "stride", 1, 0, &sw, err, errlen) ||
      needimages(n, "MaxPool2D", err, errlen))
    return -1;
  if (n->ishape[1] * n->ishape[2] >= ((size_t)1 << 24)) { /* the maxima's positions are floats */
    snprintf(err, errlen, "images of %zux%zu pixels are more than MaxPool2D takes", n->ishape[1], n->ishape[2]);
    return -1;
  }
  if (n->ishape[1] < kh || n->ishape[2] < kw) {
    snprintf(err, errlen, "cannot fit its %zux%zu window in %zux%zu images", kh, kw, n->ishape[1], n->ishape[2]);
    return -1;
  }
  n->setting[0] = (double)kh; n->setting[1] = (double)kw; n->setting[2] = (double)sh; n->setting[3] = (double)sw;
  n->ond = 3;
  n->oshape[0] = n->ishape[0];
  n->oshape[1] = (n->ishape[1] - kh) / sh + 1;
  n->oshape[2] = (n->ishape[2] - kw) / sw + 1;
  n->out = n->oshape[0] * n->oshape[1] * n->oshape[2];
  return 0;
}

/* the maxima's positions go to scratch (rows x out floats) */
static void pool_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  ln_maxpool_forward(n->ishape[1], n->ishape[2], (size_t)n->setting[0], (size_t)n->setting[1],
                     (size_t)n->setting[2], (size_t)n->setting[3], n->oshape[1], n->oshape[2], in, 0,
                     rows * n->ishape[0], out, scratch);
}

/* training: the part's rows (images) r0..r1-1, the maxima's positions in buffer 0 */
static void pool_train_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  const ln_Node *n = &f->node;
  (void)pl;
  ln_maxpool_forward(n->ishape[1], n->ishape[2], (size_t)n->setting[0], (size_t)n->setting[1],
                     (size_t)n->setting[2], (size_t)n->setting[3], n->oshape[1], n->oshape[2], f->in,
                     t->r0 * n->ishape[0], t->r1 * n->ishape[0], f->out, f->buf[0]);
}

static void pool_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  const ln_Node *n = &f->node;
  (void)pl;
  ln_maxpool_backward(n->ishape[1], n->ishape[2], n->oshape[1], n->oshape[2], f->dv, f->buf[0],
                      t->r0 * n->ishape[0], t->r1 * n->ishape[0], f->din);
}

/* buffer 0: the maxima's positions, shaped as the output (as the class keeps them) */
static int pool_buffers(const ln_Node *n, size_t rows, int threads, int k, size_t dims[4]) {
  (void)threads;
  if (k != 0) return 0;
  dims[0] = rows;
  dims[1] = n->oshape[0]; dims[2] = n->oshape[1]; dims[3] = n->oshape[2];
  return 4;
}

const ln_OpDef ln_op_maxpool2d = {
  .name = "MaxPool2D", .setup = pool_setup, .forward = pool_forward, .train_forward = pool_train_forward,
  .backward = pool_backward, .buffers = pool_buffers
};

/* ============================================================== Flatten */

static int flatten_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  (void)s; (void)err; (void)errlen;
  n->out = n->in;
  n->ond = 0; /* a flat row */
  return 0;
}

static void flatten_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  (void)scratch;
  memcpy(out, in, rows * n->in * sizeof(float));
}

const ln_OpDef ln_op_flatten = { .name = "Flatten", .setup = flatten_setup, .forward = flatten_forward };

/* =================================================== BatchNormalization
** setting: 0 epsilon, 1 features, 2 values a feature has in a row (h * w
** of images, or 1); training: 3 momentum */

static int bn_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  size_t f, k;
  double eps = 1e-5;
  if (getint(s, "features", -1, 0, &f, err, errlen)) return -1;
  if (s->number(s, "epsilon", &eps) && !(eps > 0.0 && eps < 1e30)) {
    snprintf(err, errlen, "epsilon must be a positive number");
    return -1;
  }
  if (n->ind == 3 ? n->ishape[0] != f : (n->in != 0 && n->in != f)) {
    snprintf(err, errlen, "has %zu features, but its input rows hold %zu values%s", f, n->in,
             n->ind == 3 ? " as images of another channel count" : "");
    return -1;
  }
  n->setting[0] = eps;
  n->setting[1] = (double)f;
  n->setting[2] = n->ind == 3 ? (double)(n->ishape[1] * n->ishape[2]) : 1.0;
  if (n->in == 0) n->in = f;
  n->out = n->in;
  n->ond = n->ind;
  memcpy(n->oshape, n->ishape, sizeof n->oshape);
  for (k = 0; k < 4; k++) {
    n->pnd[k] = 2;
    n->pdims[k][0] = 1;
    n->pdims[k][1] = f;
  }
  return 0;
}

/* as BatchNormalization:forward with training false (istd in scratch) */
static void bn_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  size_t f = (size_t)n->setting[1];
  ln_bn_infer(rows, f, (size_t)n->setting[2], in, n->param[0], n->param[1], n->param[2], n->param[3],
              n->setting[0], 0, f, scratch, NULL, out);
}

/* training (setting 3: the running statistics' momentum): each part its
** features (channels), normalised with the batch's statistics, and their
** running values moved as the class moves them; buffers 0 xhat (shaped as
** the inputs), 1 istd, 4 the batch's mean and variance (2 and 3 are the
** running statistics, parameters) */
static int bn_buffers(const ln_Node *n, size_t rows, int threads, int k, size_t dims[4]) {
  (void)threads;
  if (k == 0) {
    dims[0] = rows;
    if (n->ind != 3) {
      dims[1] = n->in;
      return 2;
    }
    memcpy(dims + 1, n->ishape, 3 * sizeof *dims);
    return 4;
  }
  if (k != 1 && k != 4) return 0;
  dims[0] = k == 1 ? 1 : 2;
  dims[1] = (size_t)n->setting[1];
  return 2;
}

int ln_bn_running(size_t lo, size_t hi, size_t m, double momentum, const float *mean, const float *var, float *rm,
                  float *rv) {
  double unbias;
  size_t c;
  if (m <= 1) return 0; /* one value per feature (a last batch of 1) tells nothing of the variance */
  unbias = (double)m / (double)(m - 1);
  for (c = lo; c < hi; c++) {
    rm[c] = (float)(momentum * rm[c] + (1.0 - momentum) * mean[c]);
    rv[c] = (float)(momentum * rv[c] + (1.0 - momentum) * var[c] * unbias);
  }
  return 1;
}

static void bn_train_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  const ln_Node *n = &f->node;
  size_t ch = (size_t)n->setting[1], inner = (size_t)n->setting[2], m = pl->rows * inner, lo, hi;
  float *mean = f->buf[4], *var = mean + ch, *rm = n->param[2], *rv = n->param[3];
  ln_partrange(ch, 1, t->part, t->parts, &lo, &hi);
  if (hi > lo)
    ln_bn_train_forward(pl->rows, ch, inner, f->in, n->param[0], n->param[1], n->setting[0], lo, hi, mean, var,
                        f->buf[1], f->buf[0], f->out);
  if (ln_bn_running(lo, hi, m, n->setting[3], mean, var, rm, rv) && t->part == 0 && n->counter) ++*n->counter;
}

static void bn_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  const ln_Node *n = &f->node;
  size_t ch = (size_t)n->setting[1], lo, hi;
  ln_partrange(ch, 1, t->part, t->parts, &lo, &hi);
  if (hi > lo)
    ln_bn_backward(pl->rows, ch, (size_t)n->setting[2], f->dv, f->buf[0], n->param[0], f->buf[1], lo, hi, f->dw,
                   f->db, f->din);
}

const ln_OpDef ln_op_batchnorm = {
  .name = "BatchNormalization", .nparams = 4, .params = { "weights", "biases", "running_mean", "running_var" },
  .setup = bn_setup, .forward = bn_forward, .train_forward = bn_train_forward, .backward = bn_backward,
  .update = param_update, .whole = 1, .buffers = bn_buffers
};
