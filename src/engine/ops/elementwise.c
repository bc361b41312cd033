/* ops/elementwise.c: the kinds without parameters that map each value:
** ReLU, Sigmoid, Linear, and Dropout and Input (the identity in inference).
** All but Input also train in plans: their training forward is the
** inference one over the thread's rows (Dropout's draws its mask). */
#include <stdio.h>
#include <string.h>
#include "../op.h"
#include "../plan.h"
#include "../../kernels/nn.h"

int ln_op_keepwidth(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  (void)s; (void)err; (void)errlen;
  n->out = n->in;
  n->ond = n->ind;
  memcpy(n->oshape, n->ishape, sizeof n->oshape);
  return 0;
}

/* Input(), Input(n) or Input(c, h, w): the declared shape fixes the width */
static int input_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  double d;
  int k;
  for (k = 0; k < 3 && s->element(s, "shape", k, &d); k++) {
    if (!(d >= 1 && d <= 1099511627776.0) || d != (double)(size_t)d) {
      snprintf(err, errlen, "shape must hold positive integers");
      return -1;
    }
    n->oshape[k] = (size_t)d;
  }
  if (k == 0) return ln_op_keepwidth(n, s, err, errlen);
  if (k == 2 || s->element(s, "shape", 3, &d)) {
    snprintf(err, errlen, "shape must hold 1 or 3 sizes");
    return -1;
  }
  n->ond = k == 3 ? 3 : 0;
  if (k == 3 && (n->oshape[0] > ((size_t)1 << 28) / n->oshape[1] ||
                 n->oshape[0] * n->oshape[1] > ((size_t)1 << 28) / n->oshape[2])) {
    snprintf(err, errlen, "shape holds too many values");
    return -1;
  }
  n->out = k == 3 ? n->oshape[0] * n->oshape[1] * n->oshape[2] : n->oshape[0];
  if (n->in != 0 && n->in != n->out) {
    snprintf(err, errlen, "declares %zu values a row, got %zu", n->out, n->in);
    return -1;
  }
  n->in = n->out;
  n->ind = n->ond;
  memcpy(n->ishape, n->oshape, sizeof n->ishape);
  return 0;
}

static void relu_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  (void)scratch;
  ln_nn_relu_forward(rows * n->in, in, out);
}

static void sigmoid_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  (void)scratch;
  ln_nn_sigmoid_forward(rows * n->in, in, out);
}

static void copy_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  (void)scratch;
  memcpy(out, in, rows * n->in * sizeof(float));
}

/* the part's rows t->r0..r1-1 of node f: offset o and count m of values */
#define ROWS(f, t, o, m) size_t o = (t)->r0 * (f)->node.out, m = ((t)->r1 - (t)->r0) * (f)->node.out

static void relu_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  ROWS(f, t, o, m);
  (void)pl;
  ln_nn_relu_backward(m, f->in + o, f->dv + o, f->din + o);
}

static void sigmoid_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  ROWS(f, t, o, m);
  (void)pl;
  ln_nn_sigmoid_backward(m, f->out + o, f->dv + o, f->din + o);
}

static void copy_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  ROWS(f, t, o, m);
  (void)pl;
  memcpy(f->din + o, f->dv + o, m * sizeof(float));
}

/* Dropout (setting 0: the fraction dropped): this thread's rows of the
** mask are its part of the step's stream of draws (ln_plan_masks), so the
** mask equals the layer's own sequential draws */
static void dropout_train_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  ROWS(f, t, o, m);
  ln_Rng g = pl->rng0;
  ln_rng_jump(&g, f->moff + o);
  ln_nn_dropout_mask(&g, m, f->node.setting[0], f->mask + o);
  ln_nn_dropout_apply(m, f->in + o, f->mask + o, f->out + o);
}

static void dropout_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  ROWS(f, t, o, m);
  (void)pl;
  ln_nn_dropout_apply(m, f->dv + o, f->mask + o, f->din + o);
}

const ln_OpDef ln_op_relu = {
  .name = "ReLU", .setup = ln_op_keepwidth, .forward = relu_forward, .backward = relu_backward
};
/* 0/1: above one half */
static void sigmoid_predict(const ln_Node *n, size_t rows, const float *out, float *pred) {
  ln_nn_threshold(rows * n->out, out, pred);
}

const ln_OpDef ln_op_sigmoid = {
  .name = "Sigmoid", .setup = ln_op_keepwidth, .forward = sigmoid_forward, .backward = sigmoid_backward,
  .predict = sigmoid_predict
};
const ln_OpDef ln_op_linear = {
  .name = "Linear", .setup = ln_op_keepwidth, .forward = copy_forward, .backward = copy_backward
};
const ln_OpDef ln_op_dropout = {
  .name = "Dropout", .setup = ln_op_keepwidth, .forward = copy_forward, .train_forward = dropout_train_forward,
  .backward = dropout_backward, .draws = 1
};
const ln_OpDef ln_op_input = { .name = "Input", .setup = input_setup, .forward = copy_forward };
