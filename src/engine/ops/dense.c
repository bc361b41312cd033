/* ops/dense.c: the Dense layer, out = in @ weights + biases (nn.h), in
** inference and in training plans (plan.h). */
#include <math.h>
#include <stdio.h>
#include "../op.h"
#include "../plan.h"
#include "../../kernels/nn.h"

/* a positive integer size of the entry, or -1 with a reason */
static int size(const ln_OpSpec *s, const char *key, size_t *v, char *err, size_t errlen) {
  double d;
  if (!s->number(s, key, &d) || !(d >= 1 && d <= 1099511627776.0) || d != floor(d)) {
    snprintf(err, errlen, "%s must be a positive integer", key);
    return -1;
  }
  *v = (size_t)d;
  return 0;
}

static int dense_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  size_t in, out;
  if (size(s, "n_inputs", &in, err, errlen) || size(s, "n_neurons", &out, err, errlen)) return -1;
  n->in = in;
  n->out = out;
  n->pnd[0] = n->pnd[1] = 2;
  n->pdims[0][0] = in;
  n->pdims[0][1] = out;
  n->pdims[1][0] = 1;
  n->pdims[1][1] = out;
  return 0;
}

/* exactly Dense:forward's arithmetic (the split sum from 256 inputs) */
static void dense_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  ln_nn_dense_forward(rows, n->in, n->out, in, n->param[0], n->param[1], scratch, out);
}

/* training: this thread's rows of the output.  The plan's first node may
** read the batch in place (direct) or, with split0, compute its half of
** every row's sum (P0 or P1, in a buffer only it writes: P0 in out would
** make the next step's writes fetch the rows the other thread combined),
** wait for the other half and combine its own rows, (P0 + P1) + b as
** ln_nn_dense_forward */
static void dense_train_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  const ln_Node *n = &f->node;
  size_t r0 = t->r0, r1 = t->r1, no = n->out;
  float *part = f->part ? f->part + r0 * no : NULL;
  if (f == &pl->l[0] && t->split0) {
    size_t h = f->h, c = t->part == 0 ? 0 : h, kk = t->part == 0 ? h : n->in - h;
    ln_plan_product(pl, f, 0, pl->rows, no, kk, c, n->param[0] + c * no, t->part == 0 ? f->p0 : f->part);
    ln_pool_barrier(t->pool, t->parts, ++*t->nbar); /* the other half of the sum */
    ln_nn_dense_combine(r1 - r0, no, f->p0 + r0 * no, f->part + r0 * no, n->param[1], f->out + r0 * no);
  } else if (f == &pl->l[0] && pl->direct) {
    const size_t *idx;
    const float *a = ln_plan_batch(pl, r0, 0, &idx);
    ln_nn_dense_forward_rows(r1 - r0, n->in, no, a, n->in, idx, n->param[0], n->param[1], part, f->out + r0 * no);
  } else {
    ln_nn_dense_forward(r1 - r0, n->in, no, f->in + r0 * n->in, n->param[0], n->param[1], part, f->out + r0 * no);
  }
}

/* the input gradient of rows r0..: dv w^T */
static void dense_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  size_t r0 = t->r0, r1 = t->r1;
  const ln_Node *n = &f->node;
  (void)pl;
  if (f->din)
    ln_gemm(0, 1, r1 - r0, n->in, n->out, 1.0f, f->dv + r0 * n->out, n->out, n->param[0], n->out, 0.0f,
            f->din + r0 * n->in, n->in);
}

/* this thread's rows of dweights (in^T dv, its rows of the inputs' columns)
** and columns of dbiases, each with the regularizers' gradients as Dense's
** own backward adds them */
static void dense_grads(const ln_Plan *pl, const ln_FLayer *f, int part, int parts) {
  const ln_Node *n = &f->node;
  size_t c0, c1, b0, b1, no = n->out;
  ln_plan_span(n->in, part, parts, &c0, &c1);
  if (c1 > c0) {
    ln_plan_product(pl, f, 1, c1 - c0, no, pl->rows, c0, f->dv, f->dw + c0 * no);
    ln_nn_reg_grad((c1 - c0) * no, n->param[0] + c0 * no, f->wl1, f->wl2, f->dw + c0 * no);
  }
  ln_plan_span(no, part, parts, &b0, &b1);
  if (b1 > b0) {
    ln_nn_colsum_ld(pl->rows, b1 - b0, no, f->dv + b0, f->db + b0);
    ln_nn_reg_grad(b1 - b0, n->param[1] + b0, f->bl1, f->bl2, f->db + b0);
  }
}

/* fused: the rows of the weights and the biases this thread's grads computed */
static void dense_update(const ln_FLayer *f, int part, int parts) {
  size_t c0, c1, b0, b1, no = f->node.out;
  ln_plan_span(f->node.in, part, parts, &c0, &c1);
  ln_plan_span(no, part, parts, &b0, &b1);
  ln_update_run(&f->up[0], c0 * no, c1 * no);
  ln_update_run(&f->up[1], b0, b1);
}

static size_t dense_split(const ln_Node *n) {
  return ln_nn_dense_split(n->in);
}

const ln_OpDef ln_op_dense = {
  .name = "Dense", .nparams = 2, .params = { "weights", "biases" }, .setup = dense_setup, .forward = dense_forward,
  .train_forward = dense_train_forward, .backward = dense_backward, .grads = dense_grads, .update = dense_update,
  .split = dense_split, .direct = 1, .skip_din = 1
};
