/*
** data.c: bindings for data files: lunet.data.idx, image_folder,
** export_image_folder, shuffle (table core.data); lunet.image.* is in
** image.c.  The decoders live in
** src/kernels/ (idx.c, png.c, image.c); this file checks arguments, owns
** the resources and raises.
**
** Resources (gzFile, FILE*, libpng structs, directory listings) are owned
** by a "box" userdata with __gc, created before they are acquired, as
** liolib.c does: a Lua error half-way (a bad file, out of memory while
** allocating the tensor) leaves the box to the collector, which frees all.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "data.h"
#include "kernels/fileio.h"

#define PATHMAX 4096
#define MAXLABEL 16777215 /* labels stay exact in float32 */

/* ================================================================ box */

/* free a list of names */
static void names_free(Names *s) {
  size_t i;
  for (i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

/* release everything the box owns; safe to call twice */
void ln_data_boxclose(Box *b) {
  ln_idx_close(&b->idx);
  ln_png_close(&b->png);
  ln_png_close(&b->png2);
  if (b->dfd) {
    size_t i;
    for (i = 0; i < b->ndfd; i++) if (b->dfd[i] >= 0) close(b->dfd[i]);
    free(b->dfd);
  }
  b->dfd = NULL;
  b->ndfd = 0;
  if (b->dir) closedir(b->dir);
  b->dir = NULL;
  names_free(&b->dirs);
  names_free(&b->files);
  free(b->start);
  b->start = NULL;
}

/* __gc and __close of boxes */
static int box_gc(lua_State *L) {
  ln_data_boxclose((Box *)luaL_checkudata(L, 1, BOX));
  return 0;
}

/* push a new box in a closed state */
int ln_data_optshape(lua_State *L, int idx, const char *who) {
  const char *s;
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_getfield(L, idx, "shape") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  if (s == NULL || (strcmp(s, "flat") != 0 && strcmp(s, "image") != 0))
    ln_error(L, "%s: option 'shape' must be \"flat\" (N x features) or \"image\" (N x C x H x W), got %s", who,
             s ? s : ln_typename(L, -1));
  lua_pop(L, 1);
  return strcmp(s, "image") == 0;
}

Box *ln_data_newbox(lua_State *L) {
  Box *b = (Box *)lua_newuserdatauv(L, sizeof *b, 0);
  ln_idx_init(&b->idx);
  ln_png_init(&b->png);
  ln_png_init(&b->png2);
  b->dfd = NULL;
  b->ndfd = 0;
  b->dir = NULL;
  memset(&b->dirs, 0, sizeof b->dirs);
  memset(&b->files, 0, sizeof b->files);
  b->start = NULL;
  luaL_setmetatable(L, BOX);
  return b;
}

/* append a copy of s to the list; 0 when out of memory */
static int names_add(Names *l, const char *s) {
  char *c;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    char **v = (char **)realloc(l->v, cap * sizeof *v);
    if (v == NULL) return 0;
    l->v = v;
    l->cap = cap;
  }
  c = (char *)malloc(strlen(s) + 1);
  if (c == NULL) return 0;
  strcpy(c, s);
  l->v[l->n++] = c;
  return 1;
}

/* qsort comparator: strcmp order (the same on every machine and locale) */
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* value of a name made only of (at most 8) digits, else -1 */
static long intname(const char *s) {
  long v = 0;
  size_t i, n = strlen(s);
  if (n == 0 || n > 8) return -1;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= MAXLABEL - 1 ? v : -1;
}

/* qsort comparator: numeric order, then strcmp */
static int cmp_int(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  long u = intname(x), v = intname(y);
  return u < v ? -1 : u > v ? 1 : strcmp(x, y);
}

/* snprintf into a PATHMAX buffer, raising when the path is too long */
static void joinpath(lua_State *L, char *buf, const char *who, const char *a, const char *b) {
  int n = snprintf(buf, PATHMAX, "%s/%s", a, b);
  if (n < 0 || n >= PATHMAX) ln_error(L, "%s: path too long: %s/%s", who, a, b);
}

/* ================================================================ idx */

/* lunet.data.idx(path): an IDX file (gzip'd or not) as a float tensor */
static int l_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Box *b = ln_data_newbox(L);
  ln_Tensor *t;
  char msg[LN_ERRLEN];
  if (ln_idx_open(&b->idx, path) != 0) goto fail;
  t = ln_newtensor_uninit(L, b->idx.ndim, b->idx.dims);
  if (ln_idx_read(&b->idx, t->data) != 0) goto fail;
  ln_data_boxclose(b);
  return 1;
fail:
  memcpy(msg, b->idx.err, sizeof msg);
  ln_data_boxclose(b);
  ln_error(L, "lunet.data.idx: %s: %s", path, msg);
}

/* ======================================================== image folders */

/* true when name ends in ".png" (any case) */
static int ispng(const char *name) {
  size_t n = strlen(name);
  const char *e = name + n - 4;
  return n > 4 && e[0] == '.' && (e[1] | 32) == 'p' && (e[2] | 32) == 'n' && (e[3] | 32) == 'g';
}

/* list the entries of dir (not starting with '.') into l; dirs_only keeps
** sub-folders, else .png files; raises with the reason */
static void listdir(lua_State *L, Box *b, Names *l, const char *dir, int dirs_only, const char *who) {
  struct dirent *de;
  char path[PATHMAX];
  b->dir = opendir(dir);
  if (b->dir == NULL) ln_error(L, "%s: %s: %s", who, dir, strerror(errno));
  for (;;) {
    errno = 0;
    de = readdir(b->dir);
    if (de == NULL) {
      if (errno) ln_error(L, "%s: %s: %s", who, dir, strerror(errno));
      break;
    }
    if (de->d_name[0] == '.') continue;
    if (dirs_only) {
      struct stat st;
      joinpath(L, path, who, dir, de->d_name);
      if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    } else if (!ispng(de->d_name)) {
      continue;
    }
    if (!names_add(l, de->d_name)) ln_error(L, "%s: out of memory", who);
  }
  closedir(b->dir);
  b->dir = NULL;
}

/* The decoding of an image folder, shared by its threads: files are
** claimed in chunks of FOLDER_CHUNK in sorted order under the mutex; a
** thread stops at its first failure and nobody claims files after the
** first failure seen so far, so the failure reported (the smallest index
** over the threads) is the first bad file in sorted order.  The threads
** call no Lua function; each owns its reader. */
#define FOLDER_CHUNK 32
#define FOLDER_MIN_THREADED 256 /* fewer files: one thread */

typedef struct Folder {
  pthread_mutex_t mu;
  size_t next, end;       /* next file to claim, one past the last */
  size_t stop;            /* first failed file so far (end: none) */
  const Box *b;
  float *X;               /* N x h*w*c, preallocated */
  size_t h, w, c;
  int gray;
} Folder;

typedef struct Worker {
  Folder *f;
  ln_PngReader *r;
  size_t bad;             /* its first failed file (f->end: none) */
  int kind;               /* 1: reader error (err), 2: size differs (bh, bw, bc) */
  size_t bh, bw;
  int bc;
  char err[LN_ERRLEN];
} Worker;

/* label folder of file j: the last folder starting at or before j */
static size_t folder_of(const Box *b, size_t j) {
  size_t lo = 0, hi = b->dirs.n;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->start[mid] <= j) lo = mid; else hi = mid;
  }
  return lo;
}

/* open file j and check its size against the first image (f->h == 0:
** no check); 0, or -1 with the failure noted in wk (reader released) */
static int folder_open(Worker *wk, size_t j) {
  Folder *f = wk->f;
  ln_PngReader *r = wk->r;
  if (ln_png_open_at(r, f->b->dfd[folder_of(f->b, j)], f->b->files.v[j], f->gray) != 0) {
    wk->kind = 1;
    memcpy(wk->err, r->err, sizeof wk->err);
  } else if (f->h && (r->height != f->h || r->width != f->w || (size_t)r->channels != f->c)) {
    wk->kind = 2;
    wk->bh = r->height; wk->bw = r->width; wk->bc = r->channels;
  } else {
    return 0;
  }
  wk->bad = j;
  ln_png_done(r);
  return -1;
}

/* decode the opened file j into its row of X; 0, or -1 noted in wk */
static int folder_read(Worker *wk, size_t j) {
  Folder *f = wk->f;
  int rc = ln_png_read(wk->r, f->X + j * f->h * f->w * f->c);
  if (rc != 0) {
    wk->kind = 1;
    wk->bad = j;
    memcpy(wk->err, wk->r->err, sizeof wk->err);
  }
  ln_png_done(wk->r);
  return rc;
}

/* a decoding thread: claim chunks until the end or a failure */
static void *folder_work(void *arg) {
  Worker *wk = (Worker *)arg;
  Folder *f = wk->f;
  for (;;) {
    size_t s, e, j;
    pthread_mutex_lock(&f->mu);
    s = f->next;
    e = s + FOLDER_CHUNK < f->end ? s + FOLDER_CHUNK : f->end;
    if (s >= f->end || s > f->stop) s = e = f->end;
    f->next = e;
    pthread_mutex_unlock(&f->mu);
    if (s >= e) return NULL;
    for (j = s; j < e; j++) {
      if (folder_open(wk, j) != 0 || folder_read(wk, j) != 0) {
        pthread_mutex_lock(&f->mu);
        if (j < f->stop) f->stop = j;
        pthread_mutex_unlock(&f->mu);
        return NULL;
      }
    }
  }
}

/* raise the failure noted in wk (file j) after releasing the box */
static LN_NORETURN void folder_fail(lua_State *L, Box *b, const Worker *wk, const Folder *f,
                                    const char *who, const char *dir) {
  char msg[3 * PATHMAX + LN_ERRLEN + 128];
  size_t j = wk->bad, i = folder_of(b, j);
  if (wk->kind == 2)
    snprintf(msg, sizeof msg,
             "all images must have the same size: %s/%s/%s is %zux%zu with %d channel(s), expected %zux%zu with %zu like %s/%s/%s",
             dir, b->dirs.v[i], b->files.v[j], wk->bh, wk->bw, wk->bc, f->h, f->w, f->c,
             dir, b->dirs.v[folder_of(b, 0)], b->files.v[0]);
  else
    snprintf(msg, sizeof msg, "%s/%s/%s: %s", dir, b->dirs.v[i], b->files.v[j], wk->err);
  ln_data_boxclose(b);
  ln_error(L, "%s: %s", who, msg);
}

/* lunet.data.image_folder(dir, { gray = true }) -> X, y, classes.
** Reads dir/<label>/<name>.png; label folders are sorted numerically when all
** names are integers (then folder n holds label n + 1: the book's 0..9
** become 1..10), else by name (then labels are 1..K in that order); files
** in strcmp order.  X is N x (H*W*C) pixel values 0..255.  The files are
** decoded by two threads (openat in the label folders' descriptors). */
static int l_image_folder(lua_State *L) {
  static const char *const opts[] = {"gray", "shape", NULL};
  const char *who = "lunet.data.image_folder";
  const char *dir = luaL_checkstring(L, 1);
  char sub[PATHMAX];
  int gray, allint = 1, classes_idx, threaded = 0, image;
  size_t i, j, n, d[2];
  Box *b;
  ln_Tensor *X, *y;
  Folder f;
  Worker wk[2];
  pthread_t th;
  ln_checkoptions(L, 2, who, opts);
  gray = ln_optboolean(L, 2, "gray", 1, who);
  image = ln_data_optshape(L, 2, who);
  b = ln_data_newbox(L);
  listdir(L, b, &b->dirs, dir, 1, who);
  if (b->dirs.n == 0) ln_error(L, "%s: %s: no label folders (expected %s/<label>/*.png)", who, dir, dir);
  for (i = 0; i < b->dirs.n; i++) if (intname(b->dirs.v[i]) < 0) allint = 0;
  qsort(b->dirs.v, b->dirs.n, sizeof *b->dirs.v, allint ? cmp_int : cmp_str);
  lua_createtable(L, (int)b->dirs.n, 0); /* box, classes */
  classes_idx = lua_gettop(L);
  for (i = 0; i < b->dirs.n; i++) {
    lua_Integer label = allint ? intname(b->dirs.v[i]) + 1 : (lua_Integer)i + 1;
    if (allint && i > 0 && intname(b->dirs.v[i]) == intname(b->dirs.v[i - 1]))
      ln_error(L, "%s: %s: folders '%s' and '%s' name the same label %lld (integer folder n holds label n + 1)",
               who, dir, b->dirs.v[i - 1], b->dirs.v[i], (long long)label);
    lua_pushstring(L, b->dirs.v[i]);
    lua_rawseti(L, classes_idx, label);
  }
  b->start = (size_t *)malloc((b->dirs.n + 1) * sizeof *b->start);
  b->dfd = (int *)malloc(b->dirs.n * sizeof *b->dfd);
  if (b->start == NULL || b->dfd == NULL) ln_error(L, "%s: out of memory", who);
  for (i = 0; i < b->dirs.n; i++) b->dfd[i] = -1;
  b->ndfd = b->dirs.n;
  for (i = 0; i < b->dirs.n; i++) {
    b->start[i] = b->files.n;
    joinpath(L, sub, who, dir, b->dirs.v[i]);
    listdir(L, b, &b->files, sub, 0, who);
    if (b->files.n > b->start[i]) /* files.v is NULL while no file was found (UB to offset) */
      qsort(b->files.v + b->start[i], b->files.n - b->start[i], sizeof *b->files.v, cmp_str);
    b->dfd[i] = open(sub, O_RDONLY | O_DIRECTORY);
    if (b->dfd[i] < 0) ln_error(L, "%s: %s: %s", who, sub, strerror(errno));
  }
  b->start[b->dirs.n] = n = b->files.n;
  if (n == 0) ln_error(L, "%s: %s: no .png files in its %zu label folders", who, dir, b->dirs.n);
  /* the first file gives the size of all */
  memset(&f, 0, sizeof f);
  f.b = b; f.gray = gray; f.end = f.stop = n;
  for (i = 0; i < 2; i++) {
    memset(&wk[i], 0, sizeof wk[i]);
    wk[i].f = &f;
    wk[i].bad = n;
    wk[i].r = i ? &b->png2 : &b->png;
  }
  if (folder_open(&wk[0], 0) != 0) folder_fail(L, b, &wk[0], &f, who, dir);
  f.h = b->png.height; f.w = b->png.width; f.c = (size_t)b->png.channels;
  d[0] = n; d[1] = f.h * f.w * f.c;
  X = ln_newtensor_uninit(L, 2, d);           /* box, classes, X */
  y = ln_newvector(L, n);                     /* box, classes, X, y */
  f.X = X->data;
  if (folder_read(&wk[0], 0) != 0) folder_fail(L, b, &wk[0], &f, who, dir);
  for (i = 0; i < b->dirs.n; i++) {
    float label = (float)(allint ? intname(b->dirs.v[i]) + 1 : (lua_Integer)i + 1);
    for (j = b->start[i]; j < b->start[i + 1]; j++) y->data[j] = label;
  }
  /* the rest: this thread and one more */
  f.next = 1;
  if (pthread_mutex_init(&f.mu, NULL) != 0) ln_error(L, "%s: cannot create a mutex", who);
  if (n - 1 >= FOLDER_MIN_THREADED) threaded = pthread_create(&th, NULL, folder_work, &wk[1]) == 0;
  folder_work(&wk[0]);
  if (threaded) pthread_join(th, NULL);
  pthread_mutex_destroy(&f.mu);
  if (wk[0].bad < n || wk[1].bad < n) folder_fail(L, b, wk[1].bad < wk[0].bad ? &wk[1] : &wk[0], &f, who, dir);
  ln_data_boxclose(b);
  if (image) { /* N x H*W*C (pixels' channels together) -> N x C x H x W */
    size_t dims[4], pix = f.h * f.w, k, c;
    dims[0] = n; dims[1] = f.c; dims[2] = f.h; dims[3] = f.w;
    if (f.c == 1) {
      X->ndim = 4;
      memcpy(X->dims, dims, sizeof dims);
    } else {
      ln_Tensor *T = ln_newtensor_uninit(L, 4, dims); /* box, classes, X, y, T */
      for (i = 0; i < n; i++)
        for (k = 0; k < pix; k++)
          for (c = 0; c < f.c; c++) T->data[(i * f.c + c) * pix + k] = X->data[(i * pix + k) * f.c + c];
      lua_replace(L, -3);                          /* box, classes, T, y */
    }
  }
  lua_pushvalue(L, classes_idx);               /* box, classes, X, y, classes */
  return 3;
}

/* mkdir -p: create path and its parents (mode 0777 & ~umask) */
static int mkdirs(const char *path, char *err, size_t errlen) {
  char buf[PATHMAX];
  size_t i, n = strlen(path);
  struct stat st;
  if (n >= sizeof buf) { snprintf(err, errlen, "path too long"); return -1; }
  memcpy(buf, path, n + 1);
  for (i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char save = buf[i];
      buf[i] = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", buf, strerror(errno));
        return -1;
      }
      buf[i] = save;
    }
  }
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: %s", path, strerror(ENOTDIR));
    return -1;
  }
  return 0;
}

/* lunet.data.export_image_folder(X, y, dir, width, height): writes
** dir/<label - 1>/<NNNN>.png (the book's 0-based folder names; files
** numbered from 0000 in row order within each folder, zero-padded to 4
** digits or more so that sorted names keep the row order) */
static int l_export_image_folder(lua_State *L) {
  const char *who = "lunet.data.export_image_folder";
  ln_Tensor *X = ln_checktensor(L, 1), *y = ln_checktensor(L, 2);
  const char *dir = luaL_checkstring(L, 3);
  lua_Integer w = luaL_checkinteger(L, 4), h = luaL_checkinteger(L, 5);
  char sx[LN_SHAPELEN], sy[LN_SHAPELEN], path[PATHMAX], err[LN_ERRLEN + PATHMAX];
  size_t n = X->dims[0], i, maxlabel = 0, *count;
  int digits = 4;
  ln_Tensor img;
  if (w < 1 || h < 1 || w > 0x7fffffff || h > 0x7fffffff)
    ln_error(L, "%s: width and height must be in 1..2^31-1, got %lld x %lld", who, (long long)w, (long long)h);
  if (X->ndim != 2 || ln_cols(X) != (size_t)w * (size_t)h)
    ln_error(L, "%s: X is %s, expected N x %lld (width %lld * height %lld)", who, ln_shapestr(X, sx),
             (long long)(w * h), (long long)w, (long long)h);
  if (!(y->ndim == 1 || (y->ndim == 2 && y->dims[1] == 1)) || y->dims[0] != n)
    ln_error(L, "%s: y is %s, expected %zu labels (X is %s)", who, ln_shapestr(y, sy), n, ln_shapestr(X, sx));
  for (i = 0; i < n; i++) {
    float v = y->data[i];
    if (!(v >= 1 && v <= MAXLABEL) || v != (float)(size_t)v)
      ln_error(L, "%s: label %zu is %g, expected an integer >= 1 (label l goes to folder l - 1)", who, i + 1, (double)v);
    if ((size_t)v > maxlabel) maxlabel = (size_t)v;
  }
  count = (size_t *)lua_newuserdatauv(L, (maxlabel + 1) * sizeof *count, 0);
  memset(count, 0, (maxlabel + 1) * sizeof *count);
  for (i = 0; i < n; i++) count[(size_t)y->data[i]]++;
  for (i = 1; i <= maxlabel; i++) {
    size_t m = count[i] ? count[i] - 1 : 0;
    int d = 1;
    while (m >= 10) { m /= 10; d++; }
    if (d > digits) digits = d;
    if (count[i]) {
      int k = snprintf(path, sizeof path, "%s/%zu", dir, i - 1);
      if (k < 0 || k >= PATHMAX) ln_error(L, "%s: path too long: %s", who, dir);
      if (mkdirs(path, err, sizeof err) != 0) ln_error(L, "%s: %s", who, err);
    }
    count[i] = 0;
  }
  img.ndim = 2;
  img.dims[0] = (size_t)h; img.dims[1] = (size_t)w; img.dims[2] = img.dims[3] = 1;
  img.numel = img.cap = (size_t)(w * h);
  for (i = 0; i < n; i++) {
    size_t l = (size_t)y->data[i];
    FILE *fp;
    int fd, k = snprintf(path, sizeof path, "%s/%zu/%0*zu.png", dir, l - 1, digits, count[l]++);
    if (k < 0 || k >= PATHMAX) ln_error(L, "%s: path too long: %s", who, dir);
    img.data = X->data + i * img.numel;
    fd = ln_create_regular(path, err, sizeof err);
    if (fd < 0) ln_error(L, "%s: %s: %s", who, path, err);
    fp = fdopen(fd, "wb");
    if (fp == NULL) { int e = errno; close(fd); ln_error(L, "%s: %s: %s", who, path, strerror(e)); }
    if (ln_png_write(fp, img.data, img.dims[0], img.dims[1], 1, err, sizeof err) != 0) {
      fclose(fp);
      remove(path);
      ln_error(L, "%s: %s: %s", who, path, err);
    }
    if (fclose(fp) != 0) {
      int e = errno;
      remove(path);
      ln_error(L, "%s: %s: %s", who, path, strerror(e));
    }
  }
  return 0;
}

/* ============================================================ shuffle */

/* lunet.data.shuffle(X, y): copies of X and y with their rows reordered by
** one permutation from the seeded generator */
static int l_shuffle(lua_State *L) {
  const char *who = "lunet.data.shuffle";
  ln_Tensor *X = ln_checktensor(L, 1), *y = ln_checktensor(L, 2), *X2, *y2;
  char sx[LN_SHAPELEN], sy[LN_SHAPELEN];
  size_t n = X->dims[0], cx = ln_cols(X), cy = ln_cols(y), i, *perm;
  size_t dims[LN_MAXDIM];
  if (y->dims[0] != n)
    ln_error(L, "%s: X is %s and y is %s: their numbers of rows differ", who, ln_shapestr(X, sx), ln_shapestr(y, sy));
  if (y->ndim > 2)
    ln_error(L, "%s: y is %s, expected 1-D labels or 2-D targets", who, ln_shapestr(y, sy));
  perm = (size_t *)lua_newuserdatauv(L, n * sizeof *perm, 0);
  ln_rng_permutation(ln_getrng(L), n, perm);
  memcpy(dims, X->dims, sizeof dims);
  X2 = ln_newtensor_uninit(L, X->ndim, dims);
  memcpy(dims, y->dims, sizeof dims);
  y2 = ln_newtensor_uninit(L, y->ndim, dims);
  for (i = 0; i < n; i++) {
    memcpy(X2->data + i * cx, X->data + perm[i] * cx, cx * sizeof(float));
    memcpy(y2->data + i * cy, y->data + perm[i] * cy, cy * sizeof(float));
  }
  return 2;
}

/* ============================================================ opening */

static const luaL_Reg data_funcs[] = {
  {"idx", l_idx}, {"image_folder", l_image_folder},
  {"export_image_folder", l_export_image_folder}, {"shuffle", l_shuffle},
  {NULL, NULL}
};

static const luaL_Reg box_meta[] = {
  {"__gc", box_gc}, {"__close", box_gc}, {NULL, NULL}
};

/* register core.data and core.image on the module table (on top) */
void ln_open_data(lua_State *L) {
  luaL_newmetatable(L, BOX);         /* module, mt */
  luaL_setfuncs(L, box_meta, 0);
  lua_pop(L, 1);                     /* module */
  luaL_newlib(L, data_funcs);        /* module, data */
  lua_setfield(L, -2, "data");
  ln_open_image(L);                  /* image.c: module.image */
}
