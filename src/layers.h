/*
** layers.h: helpers the layer files (layers.c, layers_conv.c, layers_norm.c)
** share; private to them.
*/
#ifndef LUNET_LAYERS_H
#define LUNET_LAYERS_H

#include "lunet.h"
#include "engine/op.h"
#include "engine/pool.h"

/* push a new layer userdata of size sz for cls (header set, user values
** empty); the caller fills the rest of the struct */
ln_Layer *ln_newlayer(lua_State *L, const ln_LayerClass *cls, size_t sz);
/* the tensor at idx, or an error naming what it should be */
ln_Tensor *ln_argtensor(lua_State *L, int idx, const char *what, const char *who);
/* buffer uv of obj resized to dims, never sharing memory with a or b (may
** be NULL): a fresh tensor replaces it if it would (a layer given its own
** output, or a product that must not read what it writes) */
ln_Tensor *ln_freshbuffer(lua_State *L, int obj, int uv, int ndim, const size_t *dims, const ln_Tensor *a,
                          const ln_Tensor *b);
/* the inputs kept by forward, or an error when there was no forward */
ln_Tensor *ln_keptinputs(lua_State *L, int self, const char *who);
/* a positive integer argument (at most LN_MAXNUMEL) */
size_t ln_checksize(lua_State *L, int idx, const char *what, const char *who);
/* the four regularizer options of the options table at idx into t */
void ln_checkregs(lua_State *L, int idx, ln_Trainable *t, const char *who);
/* add the regularizers' gradients of the trainable layer at self to its
** dweights and dbiases */
void ln_layer_reg_grad(lua_State *L, int self);
/* v as text for messages: %g, but "nan" for every NaN */
const char *ln_numstr(double v, char *buf, size_t n);

/* initializers (API.md): "book" 0.01 * randn, "he_normal", "he_uniform",
** "glorot_normal", "glorot_uniform"; from the state's generator */
typedef enum { LN_INIT_BOOK, LN_INIT_HE_NORMAL, LN_INIT_HE_UNIFORM, LN_INIT_GLOROT_NORMAL,
               LN_INIT_GLOROT_UNIFORM } ln_Init;
/* the `init` option of the options table at idx (def when absent) */
ln_Init ln_optinit(lua_State *L, int idx, ln_Init def, const char *who);
const char *ln_initname(ln_Init init);
void ln_initweights(lua_State *L, ln_Init init, size_t fan_in, size_t fan_out, size_t n, float *w);


/* push { a, b } */
int ln_pushpair(lua_State *L, size_t a, size_t b);
/* a size or a { h, w } pair at idx (a number argument, or with key an
** option: absent gives def, def); zero allowed when allow0 */
void ln_checkpair(lua_State *L, int idx, const char *key, const char *what, size_t def, int allow0, size_t *a,
                  size_t *b, const char *who);

void ln_open_layers_input(lua_State *L); /* layers_input.c: Input, Flatten */
void ln_open_layers_conv(lua_State *L);  /* layers_conv.c: Conv2D */
void ln_open_layers_pool(lua_State *L);  /* layers_pool.c: MaxPool2D */
void ln_open_layers_norm(lua_State *L);  /* layers_norm.c: BatchNormalization */

#endif
