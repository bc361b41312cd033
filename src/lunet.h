/*
** lunet.h: names shared by lunet's Lua bindings (src/ files).
** The kernels (src/kernels/) never include this file.
**
** Conventions every binding follows
** - Objects are full userdata with their own metatable, named "lunet.<Class>".
** - Tensors an object owns (outputs, gradients, parameters, buffers) are kept
**   in the object's user values (lua_newuserdatauv), so the GC keeps them alive
**   exactly as long as the object; the C struct never owns malloc'd memory.
** - Buffers are resized in place (ln_buffer) and reused between calls with the
**   same shape: a training step allocates nothing once the first batch ran.
** - Errors go through ln_error (printf formats, %zu included), prefixed by a
**   `who` string naming the function: "Dense:forward: inputs are 5x3, ...".
*/
#ifndef LUNET_H
#define LUNET_H

#include <stddef.h>
#include <stdint.h>
#include "lua.h"
#include "lauxlib.h"
#include "kernels/kernels.h"
#include "kernels/optim.h"

#define LUNET_VERSION "0.1.0"

#if defined(__GNUC__)
#define LN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define LN_NORETURN __attribute__((noreturn))
#else
#define LN_PRINTF(a, b)
#define LN_NORETURN
#endif

/* ============================================================ tensors */

#define LN_MAXDIM 4
#define LN_TENSOR "lunet.Tensor"
#define LN_SHAPELEN 96 /* room for "AxBxCxD" of 4 twenty-digit sizes */

/* A float32 row-major contiguous tensor.  Its bytes live in a storage
** userdata (the tensor's user value 1) shared with views, so a view keeps
** its parent's memory alive and the GC knows the real size. */
typedef struct ln_Tensor {
  float *data;
  size_t numel;
  size_t cap;             /* floats usable from data to the storage's end */
  int ndim;
  size_t dims[LN_MAXDIM];
} ln_Tensor;

#define LN_MAXNUMEL (((size_t)1) << 40) /* elements of a tensor at most (4 TiB of floats) */

ln_Tensor *ln_totensor(lua_State *L, int idx);   /* NULL if not a tensor */
/* the element count of dims, raising (prefixed by who) beyond LN_MAXNUMEL */
size_t ln_tensor_numel(lua_State *L, int ndim, const size_t *dims, const char *who);
ln_Tensor *ln_checktensor(lua_State *L, int idx); /* raises otherwise */
/* push a new zero-filled tensor */
ln_Tensor *ln_newtensor(lua_State *L, int ndim, const size_t *dims);
/* push a new tensor whose contents are left undefined (caller fills all) */
ln_Tensor *ln_newtensor_uninit(lua_State *L, int ndim, const size_t *dims);
ln_Tensor *ln_newmatrix(lua_State *L, size_t rows, size_t cols);
ln_Tensor *ln_newvector(lua_State *L, size_t n);
/* push a view: a tensor of ndim sizes dims over data (cap floats usable),
** which lies in the storage of the tensor at idx (kept alive by the view) */
ln_Tensor *ln_pushview(lua_State *L, int idx, float *data, size_t cap, int ndim, const size_t *dims);
/* reshape the tensor at idx in place to dims, reusing its storage when it
** is big enough; contents are undefined afterwards */
ln_Tensor *ln_resize(lua_State *L, int idx, int ndim, const size_t *dims);
/* "3x4" into buf (LN_SHAPELEN bytes); returns buf */
const char *ln_shapestr(const ln_Tensor *t, char *buf);
/* __tostring of a tensor (tensor_print.c) */
int ln_tensor_tostring(lua_State *L);
/* "3x28x28" of one sample's sizes (nd of them) into buf (LN_SHAPELEN);
** layers_init.c */
const char *ln_sampleshape(int nd, const size_t *d, char *buf);
/* columns of a 2-D view: numel / dims[0] (1 for a 1-D tensor) */
size_t ln_cols(const ln_Tensor *t);
int ln_sameshape(const ln_Tensor *a, const ln_Tensor *b);
/* do the storage ranges of a and b (data .. data + cap) overlap? */
int ln_overlaps(const ln_Tensor *a, const ln_Tensor *b);

/* Object-owned tensors, kept in user value `uv` of the object at `obj`. */
/* the tensor in uv, or NULL when unset (pushes nothing) */
ln_Tensor *ln_getuv(lua_State *L, int obj, int uv);
/* the tensor in uv resized to dims, created when unset (pushes nothing) */
ln_Tensor *ln_buffer(lua_State *L, int obj, int uv, int ndim, const size_t *dims);
ln_Tensor *ln_buffer2(lua_State *L, int obj, int uv, size_t rows, size_t cols);
ln_Tensor *ln_buffer_like(lua_State *L, int obj, int uv, const ln_Tensor *like);
/* pops the value on top into user value uv of obj */
void ln_setuv(lua_State *L, int obj, int uv);

/* ============================================================= common */

/* threads.c: the threads lunet uses in this Lua state (lunet.set_threads,
** default the cores; 1 with LUNET_SPLIT=0 or blas), and a pool of them kept
** in the registry for the layers that split their own work (Conv2D,
** MaxPool2D, BatchNormalization), which parks it after each run */
#ifndef LN_POOL_TYPES
#define LN_POOL_TYPES
typedef struct ln_Pool ln_Pool;
typedef void (*ln_Job)(ln_Pool *p, void *arg, int part, int parts);
#endif
int ln_threads(lua_State *L);
/* the state's pool with ln_threads' parts (started, or restarted when the
** count changed), NULL for one thread or when no thread starts: the one set
** of worker threads the Model's plan and the layers share (two sets would
** spin against each other on the same cores) */
ln_Pool *ln_state_pool(lua_State *L);
/* run job in parts on the state's pool when work (multiply-adds, roughly)
** is worth it, else as the only part on the caller (p NULL) */
void ln_run_parts(lua_State *L, ln_Job job, void *arg, double work);
/* hold = 1: ln_run_parts leaves the pool spinning between jobs (a training
** run's steps come microseconds apart); 0: park it now and after each run */
void ln_threads_hold(lua_State *L, int hold);

/* registry field holding lunet.set_threads' value (absent: all cores) */
#define LN_THREADS_KEY "lunet.threads"

/* luaL_error with full printf formats; position info like luaL_error */
LN_NORETURN void ln_error(lua_State *L, const char *fmt, ...) LN_PRINTF(2, 3);
/* the interpreter's generator (registry), for randn, dropout, shuffles */
ln_Rng *ln_getrng(lua_State *L);
/* a generator's state as a table { state = { 4 x "16 hex digits" }, spare
** = n, has_spare = b } (JSON cannot hold 64-bit integers), and back
** (checked, raising prefixed by who) */
void ln_rng_push(lua_State *L, const ln_Rng *r);
void ln_rng_read(lua_State *L, int idx, ln_Rng *r, const char *who);

/* Options tables ("options come in one trailing table").  idx may be
** absent/nil.  ln_checkoptions raises on unknown keys (typos) and non-table
** values; allowed is NULL-terminated. */
void ln_checkoptions(lua_State *L, int idx, const char *who, const char *const allowed[]);
lua_Number ln_optnumber(lua_State *L, int idx, const char *key, lua_Number def, const char *who);
lua_Integer ln_optinteger(lua_State *L, int idx, const char *key, lua_Integer def, const char *who);
int ln_optboolean(lua_State *L, int idx, const char *key, int def, const char *who);

/* Register a class: metatable `name` with __index looking in `methods`
** first, then calling `getfield(L)` (self at 1, key at 2, returns 1 value)
** when non-NULL; metamethods are set on the metatable.  Leaves the
** metatable on the stack. */
/* a method: its name, its C function, and how many arguments it takes
** after self at most (-1: it counts them itself); more raise instead of
** being ignored */
typedef struct ln_Method {
  const char *name;
  lua_CFunction func;
  int nargs;
} ln_Method;
void ln_newclass(lua_State *L, const char *name, const ln_Method *methods,
                 const luaL_Reg *metamethods, lua_CFunction getfield);
/* add methods to class `name` (registered by ln_newclass): each checks
** that self is of the class ("Dense:forward: self must be a lunet.Dense, got
** lunet.Tensor: call the method with ':' ...") before running */
void ln_addmethods(lua_State *L, const char *name, const ln_Method *methods);
/* replace the C function t[key] of the table on the stack top by one that
** raises when called with more than nargs arguments ("lunet.ReLU: takes no
** arguments, got 1"); who names it */
void ln_limitargs(lua_State *L, const char *key, int nargs, const char *who);
/* true when the value at idx is userdata with metatable `name` */
int ln_isclass(lua_State *L, int idx, const char *name);
/* short type name for messages: "nil", "number", "lunet.Dense", ... */
const char *ln_typename(lua_State *L, int idx);

/* ===================================================== layer protocol */

/* User values of layers and activations. */
enum {
  LN_UV_OUTPUT = 1, LN_UV_DINPUTS, LN_UV_INPUTS, LN_UV_WEIGHTS, LN_UV_BIASES,
  LN_UV_DWEIGHTS, LN_UV_DBIASES, LN_UV_EXTRA, LN_UV_EXTRA2, LN_UV_EXTRA3, LN_UV_EXTRA4, LN_UV_EXTRA5,
  LN_LAYER_NUV = LN_UV_EXTRA5
};

typedef struct ln_Layer ln_Layer;

/* the built-in kinds, so that code recognises a layer without comparing
** class names */
typedef enum {
  LN_KIND_DENSE = 1, LN_KIND_DROPOUT, LN_KIND_INPUT, LN_KIND_RELU, LN_KIND_SIGMOID, LN_KIND_SOFTMAX, LN_KIND_LINEAR,
  LN_KIND_CONV2D, LN_KIND_MAXPOOL2D, LN_KIND_FLATTEN, LN_KIND_BATCHNORM
} ln_Kind;

struct ln_OpDef;
struct ln_Node;

typedef struct ln_LayerClass {
  const char *name;     /* "Dense", "ReLU", ...; metatable "lunet.<name>" */
  int trainable;        /* has weights/biases (LN_UV_WEIGHTS...) */
  /* Forward pass of the layer at stack index self on the tensor at stack
  ** index in_idx; keeps inputs (LN_UV_INPUTS) when backward needs them and
  ** returns the output (LN_UV_OUTPUT).  Raises prefixed by who. */
  ln_Tensor *(*forward)(lua_State *L, int self, int in_idx, int training, const char *who);
  /* Backward pass from dvalues (stack index dv_idx); returns dinputs. */
  ln_Tensor *(*backward)(lua_State *L, int self, int dv_idx, const char *who);
  /* "Dense(784 -> 128)" */
  void (*describe)(const ln_Layer *l, char *buf, size_t n);
  /* activations: write predictions of outputs into dst; dst is 1-D with
  ** one value per row when pred_argmax (labels 1..K), else outputs' shape */
  void (*predictions)(const ln_Layer *l, const ln_Tensor *outputs, ln_Tensor *dst);
  int pred_argmax;
  ln_Kind kind;
  /* the shape of one sample's output from one sample's input (in: ndim
  ** sizes, batch left out); 0 when unknown (no check: activations and
  ** Dropout keep the shape, which NULL says), else 1, or -1 with a message
  ** in err ("expects 784 inputs, got 1600") when the input does not fit */
  int (*outshape)(const ln_Layer *l, int ndim, const size_t *in, int *out_ndim, size_t *out, char *err,
                  size_t n);
  /* push the value of the class's own field k (self at 1) and return 1, or
  ** return 0 (NULL: none beyond the common ones) */
  int (*field)(lua_State *L, const ln_Layer *l, const char *k);
  /* a layer whose parameters' sizes follow its input (BatchNormalization):
  ** create them for samples of nd sizes in (self at stack index self);
  ** NULL for the others */
  void (*build)(lua_State *L, int self, int nd, const size_t *in, const char *who);
  /* the kind's op in the engine (src/engine/op.h): the model file's kind
  ** for the C API, and, when it has backward, the plan's node in training */
  const struct ln_OpDef *op;
  /* the layer is about to train as node n of a plan, whose input shape
  ** (ind, ishape) is set: fill the settings its op reads (ln_Node.setting:
  ** Dropout's rate, Conv2D's kernel, stride and padding, ...); NULL when
  ** the op reads none */
  void (*node)(ln_Layer *l, struct ln_Node *n);
} ln_LayerClass;

struct ln_Layer {
  const ln_LayerClass *cls;
  /* set by Model:train for the backward of its first layer, whose dinputs
  ** nobody reads: a layer may skip computing them (and must clear it) */
  int skip_dinputs;
};

/* the head of every layer with weights and biases (Dense, Conv2D,
** BatchNormalization): its L1/L2 regularizers (zero for batch norm) */
typedef struct ln_Trainable {
  ln_Layer base;
  double weight_regularizer_l1, weight_regularizer_l2;
  double bias_regularizer_l1, bias_regularizer_l2;
} ln_Trainable;

typedef struct ln_Dense {
  ln_Trainable t;
  size_t n_inputs, n_neurons;
  int init;             /* its initializer (layers.h: ln_Init) */
} ln_Dense;

typedef struct ln_Dropout {
  ln_Layer base;
  double rate;          /* fraction dropped */
} ln_Dropout;

/* Dropout's forward with masks drawn from r (a Model's own generator;
** layer:forward uses the state's) */
ln_Tensor *ln_dropout_forward(lua_State *L, int self, int in_idx, int training, ln_Rng *r, const char *who);

/* NULL when the value at idx is not a layer or activation */
ln_Layer *ln_tolayer(lua_State *L, int idx);
ln_Layer *ln_checklayer(lua_State *L, int idx, const char *who);
/* push a new layer of the same class and settings as the one at idx, with
** no buffers (a parameterless layer at a second position of a model) */
ln_Layer *ln_layer_clone(lua_State *L, int idx);
/* Lua-facing registration of a layer class (metatable flagged as layer) */
void ln_newlayerclass(lua_State *L, const ln_LayerClass *cls, const ln_Method *methods);

/* Lua layers (lualayer.c): any table or foreign userdata with forward and
** backward methods, called from C on the calling thread */
int ln_islualayer(lua_State *L, int idx);
/* "Lua layer Scale" (the name its class was registered under) or "Lua layer" */
void ln_lualayer_describe(lua_State *L, int idx, char *buf, size_t n);
/* push layer:forward(inputs, training) / layer:backward(dvalues), checked to
** be tensors; errors (the method's own too) prefixed by who */
ln_Tensor *ln_lualayer_forward(lua_State *L, int layer, int in, int training, const char *who);
ln_Tensor *ln_lualayer_backward(lua_State *L, int layer, int dv, const char *who);
/* push the layer's params list (and, when grads, its grads list, checked to
** match it shape by shape); returns the number of parameters */
int ln_lualayer_params(lua_State *L, int layer, int grads, const char *who);

/* ====================================================== loss protocol */

typedef struct ln_Loss ln_Loss;

typedef struct ln_LossClass {
  const char *name;     /* "CategoricalCrossentropy", ... */
  /* per-sample losses of pred vs y into out (pred rows values) */
  void (*forward)(lua_State *L, const ln_Tensor *pred, const ln_Tensor *y, float *out, const char *who);
  /* gradient of the mean loss w.r.t. dvalues, into dinputs (dvalues' shape) */
  void (*backward)(lua_State *L, const ln_Tensor *dvalues, const ln_Tensor *y, ln_Tensor *dinputs, const char *who);
  /* its op in a training plan (src/engine/ops/loss.c), which also names
  ** its kind; NULL for the combined SoftmaxCategoricalCrossentropy */
  const struct ln_OpDef *op;
} ln_LossClass;

struct ln_Loss {
  const ln_LossClass *cls;
  double accumulated_sum, accumulated_count;
};

/* Loss userdata: user value 1 = per-sample losses, 2 = dinputs. */
ln_Loss *ln_toloss(lua_State *L, int idx); /* NULL if not a loss */
/* mean data loss of pred (idx) against y (idx); adds to the accumulated sums */
double ln_loss_calculate(lua_State *L, int loss, int pred, int y, const char *who);
/* for a split training step that computes the per-sample losses on its
** threads: the loss's per-sample buffer when it holds n values from a
** calculate of a categorical cross-entropy (NULL otherwise), and calculate's
** bookkeeping for n losses written there (sum, accumulate, mean) */
float *ln_loss_samples(lua_State *L, int loss, size_t n);
double ln_loss_add(ln_Loss *l, const float *losses, size_t n);
/* a training plan's loss node (src/engine/ops/loss.c) for the loss at loss
** on predictions pred and targets y: runs the checks calculate and backward
** would (raising as they do, prefixed by who), sizes the per-sample losses
** and dinputs buffers (their data in *losses and *dinputs) and returns the
** op (*sparse: labels rather than rows); NULL for the combined object */
const struct ln_OpDef *ln_loss_planop(lua_State *L, int loss, int pred, int y, const char *who, int *sparse,
                                      float **losses, float **dinputs);
/* gradient of the loss; returns the loss's dinputs buffer */
ln_Tensor *ln_loss_backward(lua_State *L, int loss, int dvalues, int y, const char *who);
/* the book's regularization_loss(layer): 0 for layers without weights */
double ln_regularization_loss(lua_State *L, int layer);
/* SoftmaxCategoricalCrossentropy backward; returns its dinputs buffer */
ln_Tensor *ln_softmax_cce_backward(lua_State *L, int obj, int dvalues, int y, const char *who);
/* its checks and dinputs buffer (sized, not computed: a split training step
** fills it with ln_softmax_cce_grad_* on its threads); *sparse is 1 for
** labels, 0 for one-hot rows */
ln_Tensor *ln_softmax_cce_begin(lua_State *L, int obj, int dvalues, int y, const char *who, int *sparse);
/* push a new SoftmaxCategoricalCrossentropy object */
void ln_new_softmax_cce(lua_State *L);

/* =================================================== accuracy protocol */

typedef struct ln_Accuracy {
  int regression;       /* 0 categorical, 1 regression */
  int binary;           /* categorical with binary = true */
  double precision;     /* regression: std(y) / 250 */
  int initialized;
  double accumulated_sum, accumulated_count;
} ln_Accuracy;

ln_Accuracy *ln_toaccuracy(lua_State *L, int idx); /* NULL otherwise */
void ln_accuracy_init(lua_State *L, int acc, int y, int reinit);
/* calculate's bookkeeping for hits of n comparisons counted elsewhere (a
** split training step); the accuracy at acc must be categorical, not binary */
double ln_accuracy_add(ln_Accuracy *a, size_t hits, size_t n);
/* mean accuracy of predictions vs y; adds to the accumulated sums */
double ln_accuracy_calculate(lua_State *L, int acc, int predictions, int y, const char *who);
/* calculate's checks of predictions against y (raising as it does);
** returns the number of comparisons (rows, or values element-wise) */
size_t ln_accuracy_check(lua_State *L, int acc, int predictions, int y, const char *who);
/* its kind of comparison (kernels/loss.h LN_ACC_*) */
int ln_accuracy_mode(const ln_Accuracy *a);

/* ================================================== optimizer protocol */


typedef struct ln_Optimizer {
  ln_OptKind kind;
  double learning_rate, current_learning_rate, decay;
  double epsilon, momentum, rho, beta_1, beta_2;
  lua_Integer iterations; /* 0..LN_MAX_ITERATIONS */
} ln_Optimizer;
#define LN_MAX_ITERATIONS ((lua_Integer)1 << 53)

/* Optimizer user value 1 = table (weak keys): layer -> state table
** { weight_momentums=, weight_cache=, bias_momentums=, bias_cache= }. */
ln_Optimizer *ln_tooptimizer(lua_State *L, int idx); /* NULL otherwise */
void ln_optimizer_pre(ln_Optimizer *o);
void ln_optimizer_update(lua_State *L, int opt, int layer, const char *who);
void ln_optimizer_post(ln_Optimizer *o);
/* prepare the two updates (weights, biases) of the layer at index layer */
void ln_optimizer_prepare(lua_State *L, int opt, int layer, const char *who, ln_Update u[2]);
/* the step's values (learning rate, Adam's bias corrections) of prepared
** updates, after ln_optimizer_pre: a later step of the same layers */
void ln_optimizer_refresh(const ln_Optimizer *o, ln_Update u[2]);

/* ========================================================== modules */

void ln_open_tensor(lua_State *L);      /* tensor.c */
void ln_open_tensor_new(lua_State *L);  /* tensor_new.c: lunet.tensor, zeros, ones, full, randn, rand (by ln_open_tensor) */
void ln_open_tensor_math(lua_State *L); /* tensor_math.c: arithmetic, comparisons, reductions */
void ln_open_tensor_shape(lua_State *L); /* tensor_shape.c: squeeze, narrow, permute, cat, arange, ... */
void ln_open_rng(lua_State *L);         /* rng.c */
void ln_open_layers(lua_State *L);      /* layers.c: Dense, Dropout, Input */
void ln_open_activations(lua_State *L); /* activations.c */
void ln_open_losses(lua_State *L);      /* losses.c */
void ln_open_accuracy(lua_State *L);    /* accuracy.c */
void ln_open_optimizers(lua_State *L);  /* optimizers.c */
void ln_open_model(lua_State *L);       /* model.c */
void ln_open_data(lua_State *L);        /* data.c: IDX, PNG, images */
void ln_open_data_csv(lua_State *L);    /* data_csv.c: lunet.data.csv (after ln_open_data) */
void ln_open_safetensors(lua_State *L); /* safetensors.c */
void ln_open_json(lua_State *L);        /* json.c: the architecture's JSON through cJSON */
void ln_open_lualayer(lua_State *L);    /* lualayer.c: register_layer */

#endif
