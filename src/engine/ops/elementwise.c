/* ops/elementwise.c: the kinds without parameters that map each value:
** ReLU, Sigmoid, Linear, and Dropout and Input (the identity in inference). */
#include <string.h>
#include "../op.h"
#include "../../kernels/nn.h"

int ln_op_keepwidth(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  (void)s; (void)err; (void)errlen;
  n->out = n->in;
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
const ln_OpDef ln_op_input = { "Input", 0, { NULL }, ln_op_keepwidth, copy_forward };
