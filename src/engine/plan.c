/*
** plan.c: see plan.h.
*/
#include <stdlib.h>
#include <string.h>
#include "plan.h"
#include "../kernels/loss.h"

void ln_plan_span(size_t n, int part, int parts, size_t *lo, size_t *hi) {
  ln_partrange(n, LN_GEMM_MB, part, parts, lo, hi);
}

void ln_batchrows(float *dst, const float *src, size_t ld, size_t width, const size_t *perm, size_t first,
                  size_t i0, size_t i1) {
  size_t i;
  for (i = i0; i < i1; i++)
    memcpy(dst + i * ld, src + (perm ? perm[first + i] : first + i) * ld, width * sizeof(float));
}

const float *ln_plan_batch(const ln_Plan *pl, size_t i0, size_t c, const size_t **idx) {
  *idx = pl->perm ? pl->perm + pl->first + i0 : NULL;
  return pl->src + c + (pl->perm ? 0 : (pl->first + i0) * pl->l[0].node.in);
}

void ln_plan_product(const ln_Plan *pl, const ln_FLayer *f, int transA, size_t M, size_t N, size_t K, size_t c,
                     const float *B, float *C) {
  const size_t *idx = NULL;
  const float *a = f == &pl->l[0] && pl->direct ? ln_plan_batch(pl, 0, c, &idx) : f->in + c;
  if (idx) /* direct, so ln_gemm_rows can */
    ln_gemm_rows(transA, M, N, K, 1.0f, a, f->node.in, idx, B, N, 0.0f, C, N);
  else
    ln_gemm(transA, 0, M, N, K, 1.0f, a, f->node.in, B, N, 0.0f, C, N);
}

/* this thread's rows of the predictions of the plan's last layer (before a
** loss node), and with pl->acc the number of them that hit the targets */
static void plan_predict(const ln_Plan *pl, const ln_PlanPart *t) {
  int k = pl->n - 1;
  const ln_FLayer *f;
  size_t cols, pw, r0 = t->r0, rows = t->r1 - t->r0;
  if (pl->l[k].node.op->loss) k--;
  f = &pl->l[k];
  cols = f->node.out;
  pw = f->node.op->pred_argmax ? 1 : cols;
  if (f->node.op->predict) f->node.op->predict(&f->node, rows, f->out + r0 * cols, pl->pred + r0 * pw);
  else memcpy(pl->pred + r0 * pw, f->out + r0 * cols, rows * cols * sizeof(float));
  if (pl->acc)
    pl->tally[t->part].hits = ln_accuracy_count(pl->acc, rows, pw, pl->ycols, pl->pred + r0 * pw,
                                                pl->y + r0 * pl->ycols, pl->precision);
}

/* this thread's share of the plan's forward pass */
static void plan_forward(ln_Pool *p, const ln_Plan *pl, int part, int parts) {
  unsigned nbar = 0;
  int k;
  ln_PlanPart t;
  const ln_FLayer *f0 = &pl->l[0];
  t.pool = p;
  t.part = part;
  t.parts = parts;
  t.nbar = &nbar;
  /* a first node whose inputs' sum is taken in two halves: on two threads
  ** each gathers its half of every row's inputs and computes its half of the
  ** sum for all rows (reading half the weights, the half it updates), then
  ** both combine their own rows (the op's train_forward).  Two threads imply
  ** at least two rows */
  t.split0 = parts == 2 && f0->h > 0 && f0->p0 != NULL;
  ln_plan_span(pl->rows, part, parts, &t.r0, &t.r1);
  /* (with split0 the sum's half is this thread's on every row; a whole
  ** node's work is shared its own way) */
  if (t.r1 == t.r0 && !t.split0 && !pl->whole) return;
  if (pl->src && !pl->direct) { /* this thread's part of the batch */
    size_t w = f0->node.in, c0 = 0, c1 = w, i0 = t.r0, i1 = t.r1;
    if (t.split0) {
      c0 = part == 0 ? 0 : f0->h;
      c1 = part == 0 ? f0->h : w;
      i0 = 0;
      i1 = pl->rows;
    }
    ln_batchrows(f0->in + c0, pl->src + c0, w, c1 - c0, pl->perm, pl->first, i0, i1);
  }
  for (k = 0; k < pl->n; k++) {
    const ln_FLayer *f = &pl->l[k];
    const ln_Node *n = &f->node;
    if (n->op->whole) { /* its inputs' rows come from every part, its outputs' go to every part */
      ln_pool_barrier(p, parts, ++nbar);
      n->op->train_forward(pl, f, &t);
      ln_pool_barrier(p, parts, ++nbar);
    } else if (n->op->train_forward) n->op->train_forward(pl, f, &t);
    else /* this thread's rows, exactly as the layer's own forward */
      n->op->forward(n, t.r1 - t.r0, f->in + t.r0 * n->in, f->out + t.r0 * n->out,
                     f->part ? f->part + t.r0 * n->out : NULL);
  }
  if (pl->pred && t.r1 > t.r0) plan_predict(pl, &t);
}

/* this thread's share of the plan's backward pass (nodes n-1..0): first
** every row-wise gradient of this thread's rows (a loss's gradient, the
** input gradients), which need nothing of the other threads' rows, with a
** whole node's own backward between barriers; then one barrier, and the
** parameters' gradients, which sum over every row of the batch (each thread
** a share of their columns, so each element is still one full sum over the
** batch) */
static void plan_backward(ln_Pool *p, const ln_Plan *pl, int part, int parts) {
  unsigned nbar = 0;
  int k;
  ln_PlanPart t;
  t.pool = p;
  t.part = part;
  t.parts = parts;
  t.nbar = &nbar;
  t.split0 = 0;
  ln_plan_span(pl->rows, part, parts, &t.r0, &t.r1);
  for (k = pl->n - 1; k >= 0; k--) {
    const ln_FLayer *f = &pl->l[k];
    if (f->node.op->whole) {
      ln_pool_barrier(p, parts, ++nbar); /* its dv is complete */
      f->node.op->backward(pl, f, &t);
      ln_pool_barrier(p, parts, ++nbar); /* and so is its din */
    } else if (t.r1 > t.r0) f->node.op->backward(pl, f, &t);
  }
  ln_pool_barrier(p, parts, ++nbar); /* every dv is complete: each thread wrote its rows */
  for (k = pl->n - 1; k >= 0; k--)
    if (pl->l[k].node.op->grads) pl->l[k].node.op->grads(pl, &pl->l[k], part, parts);
  /* fused: the optimizer updates the parameters whose gradients this
  ** thread computed (still in its cache; a whole node's are complete after
  ** its barrier).  Safe without another barrier: the products that read the
  ** weights (the input gradients) all come before the barrier, which every
  ** thread has passed */
  if (pl->fused)
    for (k = 0; k < pl->n; k++)
      if (pl->l[k].up) pl->l[k].node.op->update(&pl->l[k], part, parts);
}

void ln_plan_update_share(const ln_Update *u, int part, int parts) {
  size_t chunk = parts == 1 ? u->n : ((u->n + (size_t)parts - 1) / (size_t)parts + 15) & ~(size_t)15;
  size_t lo = (size_t)part * chunk, hi = lo + chunk;
  if (lo > u->n) lo = u->n;
  if (hi > u->n) hi = u->n;
  if (hi > lo) ln_update_run(u, lo, hi);
}

/* this thread's share of the prepared updates */
static void plan_update(const ln_Plan *pl, int part, int parts) {
  int j;
  for (j = 0; j < pl->nup; j++) ln_plan_update_share(&pl->up[j], part, parts);
}

void ln_plan_masks(ln_Plan *pl, ln_Rng *r) {
  int k;
  uint64_t off = 0;
  pl->rng0 = *r;
  for (k = 0; k < pl->n; k++)
    if (pl->l[k].node.op->draws) {
      pl->l[k].moff = off;
      off += (uint64_t)pl->rows * pl->l[k].node.out;
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

