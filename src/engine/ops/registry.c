/* ops/registry.c: every layer kind of the engine, found by the name the
** model file gives it.  A new kind is one file in ops/ and one line here. */
#include <string.h>
#include "../op.h"

static const ln_OpDef *const ops[] = {
  &ln_op_dense, &ln_op_relu, &ln_op_sigmoid, &ln_op_softmax, &ln_op_linear, &ln_op_dropout, &ln_op_input,
  &ln_op_conv2d, &ln_op_maxpool2d, &ln_op_flatten, &ln_op_batchnorm, NULL
};

const ln_OpDef *ln_op_find(const char *name) {
  int i;
  for (i = 0; ops[i]; i++)
    if (strcmp(ops[i]->name, name) == 0) return ops[i];
  return NULL;
}
