/*
** plan.c: see plan.h.
*/
#include <stdlib.h>
#include <string.h>
#include "../kernels/nn.h"
#include "../kernels/loss.h"
#include "plan.h"

/* [lo, hi) of n split in parts parts; part 0 .. parts-1.  The splits fall
** on multiples of LN_GEMM_MB (kernels.h), so that products split this way
** run the same CBLAS calls on each row as one thread would; trailing parts
** may get nothing */
static void span(size_t n, int part, int parts, size_t *lo, size_t *hi) {
  size_t blocks = (n + LN_GEMM_MB - 1) / LN_GEMM_MB, chunk;
  if (parts == 1) { *lo = 0; *hi = n; return; }
  chunk = (blocks + (size_t)parts - 1) / (size_t)parts * LN_GEMM_MB;
  *lo = (size_t)part * chunk;
  *hi = *lo + chunk;
  if (*lo > n) *lo = n;
  if (*hi > n) *hi = n;
}

void ln_batchrows(float *dst, const float *src, size_t ld, size_t width, const size_t *perm, size_t first,
                  size_t i0, size_t i1) {
  size_t i;
  for (i = i0; i < i1; i++)
    memcpy(dst + i * ld, src + (perm ? perm[first + i] : first + i) * ld, width * sizeof(float));
}

/* the batch rows i0.. of the plan's src, from column c, as ln_gemm_rows
** takes them: returns A and sets *idx (NULL: consecutive rows) */
static const float *batch_rows(const ln_Plan *pl, size_t i0, size_t c, const size_t **idx) {
  *idx = pl->perm ? pl->perm + pl->first + i0 : NULL;
  return pl->src + c + (pl->perm ? 0 : (pl->first + i0) * pl->l[0].n_in);
}

/* C (M x N) = op(A) B for the first Dense, A being the batch from column c
** (transA: A^T, for the weight gradients): its rows read in place from src
** when the plan is direct, else from the layer's inputs (the gathered batch) */
static void first_product(const ln_Plan *pl, int transA, size_t M, size_t N, size_t K, size_t c, const float *B,
                          float *C) {
  const ln_FLayer *f = &pl->l[0];
  const size_t *idx = NULL;
  const float *a = pl->direct ? batch_rows(pl, 0, c, &idx) : f->in + c;
  if (idx) /* direct, so ln_gemm_rows can */
    ln_gemm_rows(transA, M, N, K, 1.0f, a, f->n_in, idx, B, N, 0.0f, C, N);
  else
    ln_gemm(transA, 0, M, N, K, 1.0f, a, f->n_in, B, N, 0.0f, C, N);
}

/* the losses and correct predictions of n rows from r0, as the loss's and
** the accuracy's calculate would find them (they check the labels first) */
static void plan_loss(const ln_Plan *pl, size_t n, size_t r0, size_t cols, const float *out, ln_Tally *t) {
  const float *pred = pl->pred + r0;
  t->bad = 0;
  if (pl->sparse) {
    const float *y = pl->y + r0;
    if (ln_labels_check(n, y, cols) != n) {
      t->bad = 1;
      return;
    }
    ln_cce_sparse_forward(n, cols, out, y, pl->losses + r0);
    t->hits = ln_count_equal(n, pred, y);
  } else {
    const float *y = pl->y + r0 * cols;
    ln_cce_onehot_forward(n, cols, out, y, pl->losses + r0);
    t->hits = cols == 1 ? ln_count_equal(n, pred, y) : ln_count_onehot(n, cols, pred, y);
  }
}

/* this thread's share of the plan's forward pass */
static void plan_forward(ln_Pool *p, const ln_Plan *pl, int part, int parts) {
  size_t r0, r1, rows = pl->rows;
  unsigned nbar = 0;
  int k;
  /* a first Dense whose inputs' sum is taken in two halves: on two threads
  ** each gathers its half of every row's inputs and computes its half of the
  ** sum for all rows (reading half the weights, the half it updates), then
  ** both combine their own rows.  Two threads imply at least two rows */
  const int split0 = parts == 2 && pl->l[0].kind == F_DENSE && pl->l[0].h > 0 && pl->l[0].p0 != NULL;
  span(rows, part, parts, &r0, &r1);
  if (r1 == r0 && !split0) return; /* (with split0 the sum's half is this thread's on every row) */
  if (pl->ysrc) /* this thread's rows of the targets */
    ln_batchrows(pl->ydst, pl->ysrc, pl->ycols, pl->ycols, pl->perm, pl->first, r0, r1);
  if (pl->src && !pl->direct) { /* this thread's part of the batch */
    size_t w = pl->l[0].n_in, c0 = 0, c1 = w, i0 = r0, i1 = r1;
    if (split0) {
      c0 = part == 0 ? 0 : pl->l[0].h;
      c1 = part == 0 ? pl->l[0].h : w;
      i0 = 0;
      i1 = rows;
    }
    ln_batchrows(pl->l[0].in + c0, pl->src + c0, w, c1 - c0, pl->perm, pl->first, i0, i1);
  }
  for (k = 0; k < pl->n; k++) {
    const ln_FLayer *f = &pl->l[k];
    if (f->kind == F_DENSE && k == 0 && split0) { /* (P0 + P1) + b as ln_nn_dense_forward */
      size_t n = f->n_out, h = f->h, c = part == 0 ? 0 : h, kk = part == 0 ? h : f->n_in - h;
      /* each thread's partial sum in a buffer only it writes: P0 in out would
      ** make the next step's writes fetch the rows the other thread combined */
      first_product(pl, 0, rows, n, kk, c, f->w + c * n, part == 0 ? f->p0 : f->part);
      ln_pool_barrier(p, parts, ++nbar); /* the other half of the sum */
      ln_nn_dense_combine(r1 - r0, n, f->p0 + r0 * n, f->part + r0 * n, f->b, f->out + r0 * n);
    } else if (f->kind == F_DENSE && k == 0 && pl->direct) { /* this thread's rows, in place */
      const size_t *idx;
      const float *a = batch_rows(pl, r0, 0, &idx);
      ln_nn_dense_forward_rows(r1 - r0, f->n_in, f->n_out, a, f->n_in, idx, f->w, f->b,
                               f->part ? f->part + r0 * f->n_out : NULL, f->out + r0 * f->n_out);
    } else if (f->kind == F_DENSE) { /* this thread's rows, exactly as the layer's own forward */
      ln_nn_dense_forward(r1 - r0, f->n_in, f->n_out, f->in + r0 * f->n_in, f->w, f->b,
                          f->part ? f->part + r0 * f->n_out : NULL, f->out + r0 * f->n_out);
    } else if (f->kind == F_RELU) {
      ln_nn_relu_forward((r1 - r0) * f->n_out, f->in + r0 * f->n_out, f->out + r0 * f->n_out);
    } else if (f->kind == F_SIGMOID) {
      ln_nn_sigmoid_forward((r1 - r0) * f->n_out, f->in + r0 * f->n_out, f->out + r0 * f->n_out);
    } else if (f->kind == F_SOFTMAX_PLAIN) {
      ln_softmax_rows(r1 - r0, f->n_out, f->in + r0 * f->n_out, f->out + r0 * f->n_out);
    } else if (f->kind == F_LINEAR) {
      memcpy(f->out + r0 * f->n_out, f->in + r0 * f->n_out, (r1 - r0) * f->n_out * sizeof(float));
    } else if (f->kind == F_DROPOUT) { /* this thread's rows of the mask: its part of the stream */
      ln_Rng g = pl->rng0;
      ln_rng_jump(&g, f->moff + (uint64_t)r0 * f->n_out);
      ln_nn_dropout_mask(&g, (r1 - r0) * f->n_out, f->rate, f->mask + r0 * f->n_out);
      ln_nn_dropout_apply((r1 - r0) * f->n_out, f->in + r0 * f->n_out, f->mask + r0 * f->n_out,
                          f->out + r0 * f->n_out);
    } else { /* Softmax, and the predictions the model reads after the step */
      ln_softmax_rows(r1 - r0, f->n_out, f->in + r0 * f->n_out, f->out + r0 * f->n_out);
      ln_argmax_labels(r1 - r0, f->n_out, f->out + r0 * f->n_out, pl->pred + r0);
      if (pl->losses) plan_loss(pl, r1 - r0, r0, f->n_out, f->out + r0 * f->n_out, &pl->tally[part]);
    }
  }
}

/* this thread's share of the plan's backward pass (layers n-1..0): first
** every row-wise gradient of this thread's rows (the softmax/cross-entropy
** gradient, the input gradients of the Dense layers above the first, ReLU),
** which need nothing of the other thread's rows; then one barrier, and the
** weight and bias gradients, which sum over every row of the batch */
static void plan_backward(ln_Pool *p, const ln_Plan *pl, int part, int parts) {
  size_t r0, r1, c0, c1, b0, b1, rows = pl->rows;
  int k;
  span(rows, part, parts, &r0, &r1);
  for (k = pl->n - 1; k >= 0 && r1 > r0; k--) {
    const ln_FLayer *f = &pl->l[k];
    if (f->kind == F_SOFTMAX) { /* the combined softmax/cross-entropy gradient of this thread's rows */
      if (pl->sparse)
        ln_softmax_cce_grad_sparse(r1 - r0, f->n_out, f->out + r0 * f->n_out, pl->y + r0, rows,
                                   f->din + r0 * f->n_out);
      else
        ln_softmax_cce_grad_onehot(r1 - r0, f->n_out, f->out + r0 * f->n_out, pl->y + r0 * f->n_out, rows,
                                   f->din + r0 * f->n_out);
    } else if (f->kind == F_DENSE) {
      if (f->din)
        ln_gemm(0, 1, r1 - r0, f->n_in, f->n_out, 1.0f, f->dv + r0 * f->n_out, f->n_out, f->w, f->n_out,
                0.0f, f->din + r0 * f->n_in, f->n_in);
    } else {
      size_t o = r0 * f->n_out, m = (r1 - r0) * f->n_out;
      if (f->kind == F_RELU) ln_nn_relu_backward(m, f->in + o, f->dv + o, f->din + o);
      else if (f->kind == F_SIGMOID) ln_nn_sigmoid_backward(m, f->out + o, f->dv + o, f->din + o);
      else if (f->kind == F_DROPOUT) ln_nn_dropout_apply(m, f->dv + o, f->mask + o, f->din + o);
      else if (f->kind == F_SOFTMAX_PLAIN)
        ln_nn_softmax_backward(r1 - r0, f->n_out, f->out + o, f->dv + o, f->din + o);
      else memcpy(f->din + o, f->dv + o, m * sizeof(float)); /* Linear */
    }
  }
  ln_pool_barrier(p, parts, 1); /* every dv is complete: both threads wrote their rows */
  for (k = pl->n - 1; k >= 0; k--) {
    const ln_FLayer *f = &pl->l[k];
    if (f->kind != F_DENSE) continue;
    span(f->n_in, part, parts, &c0, &c1);
    if (c1 > c0) {
      if (k == 0)
        first_product(pl, 1, c1 - c0, f->n_out, rows, c0, f->dv, f->dw + c0 * f->n_out);
      else
        ln_gemm(1, 0, c1 - c0, f->n_out, rows, 1.0f, f->in + c0, f->n_in, f->dv, f->n_out, 0.0f,
                f->dw + c0 * f->n_out, f->n_out);
      /* the regularizers' gradients, as Dense's own backward adds them */
      ln_nn_reg_grad((c1 - c0) * f->n_out, f->w + c0 * f->n_out, f->wl1, f->wl2, f->dw + c0 * f->n_out);
    }
    span(f->n_out, part, parts, &b0, &b1); /* the bias gradients: this thread's columns */
    if (b1 > b0) {
      ln_nn_colsum_ld(rows, b1 - b0, f->n_out, f->dv + b0, f->db + b0);
      ln_nn_reg_grad(b1 - b0, f->b + b0, f->bl1, f->bl2, f->db + b0);
    }
  }
  /* fused: the optimizer updates the rows of the weights whose gradients
  ** this thread computed (still in its cache) and the biases it summed.  Safe
  ** without another barrier: the products that read the weights (the input
  ** gradients) all come before the barrier, which both threads have passed */
  if (pl->fused)
    for (k = 0; k < pl->n; k++) {
      const ln_FLayer *f = &pl->l[k];
      if (f->kind != F_DENSE) continue;
      span(f->n_in, part, parts, &c0, &c1);
      span(f->n_out, part, parts, &b0, &b1);
      ln_update_run(&f->up[0], c0 * f->n_out, c1 * f->n_out);
      ln_update_run(&f->up[1], b0, b1);
    }
}

/* this thread's share of the prepared updates: each is split at a multiple
** of 16 elements (whole cache lines) */
static void plan_update(const ln_Plan *pl, int part, int parts) {
  int j;
  for (j = 0; j < pl->nup; j++) {
    const ln_Update *u = &pl->up[j];
    size_t chunk = parts == 1 ? u->n : ((u->n + (size_t)parts - 1) / (size_t)parts + 15) & ~(size_t)15;
    size_t lo = (size_t)part * chunk, hi = lo + chunk;
    if (lo > u->n) lo = u->n;
    if (hi > u->n) hi = u->n;
    if (hi > lo) ln_update_run(u, lo, hi);
  }
}

void ln_plan_masks(ln_Plan *pl, ln_Rng *r) {
  int k;
  uint64_t off = 0;
  pl->rng0 = *r;
  for (k = 0; k < pl->n; k++)
    if (pl->l[k].kind == F_DROPOUT) {
      pl->l[k].moff = off;
      off += (uint64_t)pl->rows * pl->l[k].n_out;
    }
  ln_rng_jump(r, off);
}

/* part of a plan */
static void plan_part(ln_Pool *p, void *arg, int part, int parts) {
  const ln_Plan *pl = (const ln_Plan *)arg;
  switch (pl->mode) {
    case PLAN_FORWARD: plan_forward(p, pl, part, parts); break;
    case PLAN_BACKWARD: plan_backward(p, pl, part, parts); break;
    default: plan_update(pl, part, parts); break;
  }
}

/* run a plan on one thread, or on the pool's parts */
void ln_plan_run(ln_Pool *p, ln_Plan *pl) {
  int blas;
  if (p == NULL || !p->started) {
    const char *env = getenv("LUNET_SPLIT");
    int own = env && strcmp(env, "blas") == 0; /* keep OpenBLAS' own threads */
    blas = ln_gemm_threads();
    if (blas != 1 && !own) ln_gemm_set_threads(1);
    plan_part(NULL, pl, 0, 1);
    if (blas != 1 && !own) ln_gemm_set_threads(blas);
    return;
  }
  blas = ln_gemm_threads();
  if (blas != 1) ln_gemm_set_threads(1);
  ln_pool_run(p, plan_part, pl);
  if (blas != 1) ln_gemm_set_threads(blas);
}

