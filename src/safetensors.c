/*
** safetensors.c: lunet.safetensors.save / load, the file format of
** https://github.com/huggingface/safetensors restricted to F32 tensors of 1
** to 4 dimensions.  The header logic lives in kernels/st_format.c; this file
** does the I/O and the Lua side.
**
** Every resource a call acquires (FILE*, header buffer, parsed header,
** temporary file) is owned by a "box" userdata created before acquiring
** them and marked to-be-closed, so an error raised half-way (bad file, full
** disk, out of memory) releases them at once; __gc does the same as a
** fallback and is safe to run twice (liolib's pattern).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "lunet.h"
#include "kernels/st_format.h"
#include "kernels/fileio.h"

#define BOX "lunet.safetensors.box"
#define SAVE "lunet.safetensors.save"
#define LOAD "lunet.safetensors.load"
#define SWAPCHUNK 1024 /* floats byte-swapped at a time on big-endian hosts */

/* ================================================================ box */

typedef struct StBox {
  FILE *f;
  char *buf;         /* load: header bytes; save: header JSON */
  ln_StHeader hdr;   /* load: the parsed header */
  ln_Atomic save;    /* save: the file being written (removed on failure) */
} StBox;

/* release everything the box holds; idempotent */
static void box_release(StBox *b) {
  if (b->f != NULL) { fclose(b->f); b->f = NULL; }
  ln_atomic_cancel(&b->save);
  free(b->buf);
  b->buf = NULL;
  ln_st_free(&b->hdr);
}

/* __gc and __close of the box */
static int box_gc(lua_State *L) {
  box_release((StBox *)luaL_checkudata(L, 1, BOX));
  return 0;
}

/* push an empty box and mark it to-be-closed (released when the calling
** function ends or raises) */
static StBox *newbox(lua_State *L) {
  StBox *b = (StBox *)lua_newuserdatauv(L, sizeof(StBox), 0);
  b->f = NULL;
  b->buf = NULL;
  memset(&b->hdr, 0, sizeof b->hdr);
  ln_atomic_init(&b->save);
  luaL_setmetatable(L, BOX);
  lua_toclose(L, -1);
  return b;
}

/* ============================================================ helpers */

/* 1 on a little-endian host */
static int littleendian(void) {
  union { uint32_t u; unsigned char c[4]; } x;
  x.u = 1;
  return x.c[0] == 1;
}

/* reverse the bytes of n floats in place (big-endian hosts) */
static void swap4(float *p, size_t n) {
  unsigned char *c = (unsigned char *)p, t;
  size_t i;
  for (i = 0; i < n; i++, c += 4) {
    t = c[0]; c[0] = c[3]; c[3] = t;
    t = c[1]; c[1] = c[2]; c[2] = t;
  }
}

/* the path argument: a string without NUL bytes */
static const char *checkpath(lua_State *L, const char *who, size_t *len) {
  const char *p;
  if (lua_type(L, 1) != LUA_TSTRING)
    ln_error(L, "%s: argument 1 (path) must be a string, got %s", who, ln_typename(L, 1));
  p = lua_tolstring(L, 1, len);
  if (strlen(p) != *len || *len == 0)
    ln_error(L, "%s: argument 1 (path) must be a non-empty string without zero bytes", who);
  return p;
}

/* ============================================================== save */

typedef struct SaveEnt {
  const char *name;
  const ln_Tensor *t;     /* NULL for an integer (an I64 scalar) */
  int64_t ival;
} SaveEnt;

static int cmpent(const void *a, const void *b) {
  return strcmp(((const SaveEnt *)a)->name, ((const SaveEnt *)b)->name);
}

static int cmpmeta(const void *a, const void *b) {
  return strcmp(((const ln_StMeta *)a)->key, ((const ln_StMeta *)b)->key);
}

/* count the entries of the table at idx */
static size_t tablecount(lua_State *L, int idx) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) { lua_pop(L, 1); n++; }
  return n;
}

/* a string key at -2 for save's messages: checks type, NUL bytes, UTF-8 */
static const char *checkkey(lua_State *L, const char *path, const char *what) {
  size_t len;
  const char *k;
  if (lua_type(L, -2) != LUA_TSTRING)
    ln_error(L, SAVE ": %s: %s names must be strings, got %s", path, what, luaL_typename(L, -2));
  k = lua_tolstring(L, -2, &len);
  if (!ln_st_utf8ok(k, len))
    ln_error(L, SAVE ": %s: %s name '%s' is not valid UTF-8 (or holds a zero byte)", path, what, k);
  return k;
}

/* write n floats little-endian; 0 or -1 with errno */
static int writefloats(FILE *f, const float *p, size_t n) {
  if (littleendian()) return fwrite(p, sizeof(float), n, f) == n ? 0 : -1;
  while (n > 0) {
    float chunk[SWAPCHUNK];
    size_t k = n < SWAPCHUNK ? n : SWAPCHUNK;
    memcpy(chunk, p, k * sizeof(float));
    swap4(chunk, k);
    if (fwrite(chunk, sizeof(float), k, f) != k) return -1;
    p += k; n -= k;
  }
  return 0;
}

/* lunet.safetensors.save(path, tensors, metadata) */
static int l_save(lua_State *L) {
  size_t plen, n, nm = 0, i;
  const char *path = checkpath(L, SAVE, &plen);
  SaveEnt *ents;
  ln_StTensor *sts;
  ln_StMeta *meta = NULL;
  ln_StHeader h;
  StBox *b;
  int fd, k, e;
  char err[512];
  unsigned char lenbuf[8];
  size_t jlen;
  uint64_t dlen;
  if (!lua_istable(L, 2))
    ln_error(L, SAVE ": argument 2 (tensors) must be a table of name -> tensor, got %s", ln_typename(L, 2));
  if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3))
    ln_error(L, SAVE ": argument 3 (metadata) must be a table of string -> string, got %s", ln_typename(L, 3));
  lua_settop(L, 3);
  lua_newtable(L);                               /* 4: anchor for names, tensors, metadata strings */
  /* tensors: validate and copy into a sortable array (strings anchored in 4) */
  n = tablecount(L, 2);
  ents = (SaveEnt *)lua_newuserdatauv(L, (n ? n : 1) * sizeof *ents, 0); /* 5 */
  i = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {                       /* key, value */
    const char *name = checkkey(L, path, "tensor");
    const ln_Tensor *t = ln_totensor(L, -1);
    if (name[0] == '\0') ln_error(L, SAVE ": %s: tensor names must be non-empty", path);
    if (strcmp(name, "__metadata__") == 0)
      ln_error(L, SAVE ": %s: tensor name '__metadata__' is reserved", path);
    if (t == NULL && !lua_isinteger(L, -1))
      ln_error(L, SAVE ": %s: tensors['%s'] is %s, expected a lunet.Tensor (or an integer, written as an I64 "
               "scalar)", path, name, ln_typename(L, -1));
    if (i >= n) ln_error(L, SAVE ": %s: tensors table changed during save", path);
    ents[i].name = name;
    ents[i].t = t;
    ents[i].ival = t ? 0 : (int64_t)lua_tointeger(L, -1);
    lua_rawseti(L, 4, (lua_Integer)(2 * i + 2)); /* anchor the tensor */
    lua_pushvalue(L, -1);
    lua_rawseti(L, 4, (lua_Integer)(2 * i + 1)); /* anchor the name */
    i++;
  }
  n = i;
  qsort(ents, n, sizeof *ents, cmpent);
  sts = (ln_StTensor *)lua_newuserdatauv(L, (n ? n : 1) * sizeof *sts, 0); /* 6 */
  /* metadata: string keys, string or number values */
  if (!lua_isnil(L, 3)) {
    size_t m = tablecount(L, 3);
    lua_Integer slot = (lua_Integer)(2 * n);
    meta = (ln_StMeta *)lua_newuserdatauv(L, (m ? m : 1) * sizeof *meta, 0); /* 7 */
    lua_pushnil(L);
    while (lua_next(L, 3)) {                     /* key, value */
      const char *key = checkkey(L, path, "metadata");
      size_t vlen;
      const char *v;
      int vt = lua_type(L, -1);
      if (vt != LUA_TSTRING && vt != LUA_TNUMBER)
        ln_error(L, SAVE ": %s: metadata['%s'] is %s, expected a string", path, key, ln_typename(L, -1));
      if (nm >= m) ln_error(L, SAVE ": %s: metadata table changed during save", path);
      v = lua_tolstring(L, -1, &vlen);           /* converts the value copy only */
      if (!ln_st_utf8ok(v, vlen))
        ln_error(L, SAVE ": %s: metadata['%s'] is not valid UTF-8 (or holds a zero byte)", path, key);
      meta[nm].key = key;
      meta[nm].value = v;
      lua_rawseti(L, 4, ++slot);                 /* anchor the value string */
      lua_pushvalue(L, -1);
      lua_rawseti(L, 4, ++slot);                 /* anchor the key */
      nm++;
    }
    qsort(meta, nm, sizeof *meta, cmpmeta);
  }
  /* from here on nothing runs Lua code until an error or the end */
  b = newbox(L);
  for (i = 0; i < n; i++) {
    const ln_Tensor *t = ents[i].t;
    sts[i].name = ents[i].name;
    sts[i].i64 = t == NULL;
    sts[i].ndim = t ? t->ndim : 0;
    for (k = 0; k < LN_ST_MAXDIM; k++) sts[i].dims[k] = t && k < t->ndim ? (uint64_t)t->dims[k] : 1;
  }
  h.tensors = sts; h.ntensors = n;
  h.meta = meta; h.nmeta = nm;
  h.owner = NULL;
  b->buf = ln_st_format(&h, &jlen, &dlen, err, sizeof err);
  if (b->buf == NULL) ln_error(L, SAVE ": %s: %s", path, err);
  /* the target (through symlinks) must be a regular file or absent */
  if (ln_atomic_begin(&b->save, path, err, sizeof err) != 0) ln_error(L, SAVE ": %s: %s", path, err);
  b->f = fdopen(b->save.fd, "wb");
  if (b->f == NULL) {
    e = errno;
    ln_error(L, SAVE ": %s: %s", path, strerror(e));
  }
  fd = b->save.fd;
  b->save.fd = -1; /* the FILE owns it */
  ln_st_putu64le(lenbuf, (uint64_t)jlen);
  if (fwrite(lenbuf, 1, 8, b->f) != 8 || fwrite(b->buf, 1, jlen, b->f) != jlen) goto ioerr;
  for (i = 0; i < n; i++)
    if (ents[i].t == NULL) {
      unsigned char v8[8];
      ln_st_putu64le(v8, (uint64_t)ents[i].ival);
      if (fwrite(v8, 1, 8, b->f) != 8) goto ioerr;
    } else if (writefloats(b->f, ents[i].t->data, ents[i].t->numel) != 0) goto ioerr;
  if (fflush(b->f) != 0) goto ioerr;
  if (ln_atomic_commit(&b->save, fd, err, sizeof err) != 0) ln_error(L, SAVE ": %s: %s", path, err);
  k = fclose(b->f);
  b->f = NULL;
  (void)k; /* the data is synced and renamed: a late close error changes nothing */
  (void)dlen;
  return 0;
ioerr:
  e = errno;
  ln_error(L, SAVE ": %s: write failed: %s", path, e ? strerror(e) : "unknown error");
  return 0; /* not reached */
}

/* ============================================================== load */

/* lunet.safetensors.load(path) -> tensors, metadata */
static int l_load(lua_State *L) {
  size_t plen, i, k;
  const char *path = checkpath(L, LOAD, &plen);
  StBox *b;
  struct stat st;
  unsigned char lenbuf[8];
  uint64_t fsize, hlen, dlen;
  char err[512];
  int e, fd;
  lua_settop(L, 1);
  b = newbox(L);                                 /* 2 */
  fd = ln_open_regular(AT_FDCWD, path, err, sizeof err); /* never blocks on a FIFO */
  if (fd < 0) ln_error(L, LOAD ": %s: %s", path, err);
  b->f = fdopen(fd, "rb");
  if (b->f == NULL) {
    e = errno;
    close(fd);
    ln_error(L, LOAD ": %s: %s", path, strerror(e));
  }
  if (fstat(fd, &st) != 0) {
    e = errno;
    ln_error(L, LOAD ": %s: %s", path, strerror(e));
  }
  fsize = (uint64_t)st.st_size;
  if (fsize < 8)
    ln_error(L, LOAD ": %s: file is %llu bytes, too short for the 8-byte header length",
             path, (unsigned long long)fsize);
  if (fread(lenbuf, 1, 8, b->f) != 8) goto rderr;
  hlen = ln_st_getu64le(lenbuf);
  if (hlen > fsize - 8)
    ln_error(L, LOAD ": %s: header length %llu exceeds the file size (%llu bytes)", path,
             (unsigned long long)hlen, (unsigned long long)fsize);
  if (hlen > LN_ST_MAXHEADER)
    ln_error(L, LOAD ": %s: header length %llu exceeds the limit (%llu bytes)", path,
             (unsigned long long)hlen, (unsigned long long)LN_ST_MAXHEADER);
  b->buf = (char *)malloc((size_t)hlen + 1);
  if (b->buf == NULL) ln_error(L, LOAD ": %s: out of memory for the header", path);
  if (fread(b->buf, 1, (size_t)hlen, b->f) != (size_t)hlen) goto rderr;
  b->buf[hlen] = '\0';
  dlen = fsize - 8 - hlen;
  if (ln_st_parse(b->buf, (size_t)hlen, dlen, &b->hdr, err, sizeof err) != 0)
    ln_error(L, LOAD ": %s: %s", path, err);
  free(b->buf);
  b->buf = NULL;
  /* tensors, in file order: the data section is read front to back */
  lua_createtable(L, 0, b->hdr.ntensors > 1000000 ? 1000000 : (int)b->hdr.ntensors); /* 3 */
  for (i = 0; i < b->hdr.ntensors; i++) {
    const ln_StTensor *s = &b->hdr.tensors[i];
    size_t dims[LN_MAXDIM];
    ln_Tensor *t;
    if (s->i64) { /* an I64 scalar: a Lua integer */
      unsigned char v8[8];
      if (fread(v8, 1, 8, b->f) != 8) goto rderr;
      lua_pushinteger(L, (lua_Integer)(int64_t)ln_st_getu64le(v8));
      lua_setfield(L, 3, s->name);
      continue;
    }
    if (s->numel > SIZE_MAX / sizeof(float))
      ln_error(L, LOAD ": %s: tensor '%s' is too large for this machine", path, s->name);
    for (k = 0; k < (size_t)s->ndim; k++) dims[k] = (size_t)s->dims[k];
    t = ln_newtensor_uninit(L, s->ndim, dims);
    if (fread(t->data, sizeof(float), (size_t)s->numel, b->f) != (size_t)s->numel) goto rderr;
    if (!littleendian()) swap4(t->data, t->numel);
    lua_setfield(L, 3, s->name);
  }
  lua_createtable(L, 0, (int)(b->hdr.nmeta > 1000000 ? 1000000 : b->hdr.nmeta)); /* 4 */
  for (i = 0; i < b->hdr.nmeta; i++) {
    lua_pushstring(L, b->hdr.meta[i].value);
    lua_setfield(L, 4, b->hdr.meta[i].key);
  }
  return 2;                                      /* the box is closed on return */
rderr:
  e = ferror(b->f) ? errno : 0;
  ln_error(L, LOAD ": %s: %s", path, e ? strerror(e) : "unexpected end of file");
  return 0; /* not reached */
}

/* ============================================================= module */

void ln_open_safetensors(lua_State *L) {
  static const luaL_Reg funcs[] = {{"save", l_save}, {"load", l_load}, {NULL, NULL}};
  if (luaL_newmetatable(L, BOX)) {               /* mod, mt */
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);                                 /* mod */
  luaL_newlib(L, funcs);                         /* mod, safetensors */
  lua_setfield(L, -2, "safetensors");
}
