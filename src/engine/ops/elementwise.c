/* ops/elementwise.c: the kinds without parameters that map each value:
** ReLU, Sigmoid, Linear, and Dropout and Input (the identity in inference). */
#include <stdio.h>
#include <string.h>
#include "../op.h"
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

const ln_OpDef ln_op_relu = { "ReLU", 0, { NULL }, ln_op_keepwidth, relu_forward };
const ln_OpDef ln_op_sigmoid = { "Sigmoid", 0, { NULL }, ln_op_keepwidth, sigmoid_forward };
const ln_OpDef ln_op_linear = { "Linear", 0, { NULL }, ln_op_keepwidth, copy_forward };
const ln_OpDef ln_op_dropout = { "Dropout", 0, { NULL }, ln_op_keepwidth, copy_forward };
const ln_OpDef ln_op_input = { "Input", 0, { NULL }, input_setup, copy_forward };
