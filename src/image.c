/*
** image.c: lunet.image.load, save, resize (table core.image): PNG through
** the decoders of src/kernels/ (png.c, image.c); this file checks
** arguments, owns the resources (data.h's box) and raises.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "data.h"
#include "kernels/fileio.h"

/* raise the PNG reader's message after releasing the box */
static LN_NORETURN void png_fail(lua_State *L, Box *b, const char *who, const char *path) {
  char msg[LN_ERRLEN];
  memcpy(msg, b->png.err, sizeof msg);
  ln_data_boxclose(b);
  ln_error(L, "%s: %s: %s", who, path, msg);
}

/* lunet.image.load(path, { gray = false }) */
static int l_load(lua_State *L) {
  static const char *const opts[] = {"gray", NULL};
  const char *who = "lunet.image.load";
  const char *path = luaL_checkstring(L, 1);
  int gray;
  Box *b;
  ln_Tensor *t;
  size_t dims[3];
  ln_checkoptions(L, 2, who, opts);
  gray = ln_optboolean(L, 2, "gray", 0, who);
  b = ln_data_newbox(L);
  if (ln_png_open(&b->png, path, gray) != 0) png_fail(L, b, who, path);
  dims[0] = b->png.height;
  dims[1] = b->png.width;
  dims[2] = (size_t)b->png.channels;
  t = ln_newtensor_uninit(L, b->png.channels == 1 ? 2 : 3, dims);
  if (ln_png_read(&b->png, t->data) != 0) png_fail(L, b, who, path);
  ln_data_boxclose(b);
  return 1;
}

/* channels of an image tensor (H x W or H x W x C), raising otherwise */
static int imgchannels(lua_State *L, const ln_Tensor *t, const char *who) {
  char sb[LN_SHAPELEN];
  if (t->ndim == 2) return 1;
  if (t->ndim == 3 && (t->dims[2] == 1 || t->dims[2] == 3 || t->dims[2] == 4))
    return (int)t->dims[2];
  ln_error(L, "%s: image is %s, expected H x W (gray), H x W x 3 (RGB) or H x W x 4 (RGBA)",
           who, ln_shapestr(t, sb));
}

/* write img as PNG into an open FILE; returns 0 or -1 with errno/err set */
static int write_png(FILE *fp, const ln_Tensor *t, int c, char *err, size_t errlen) {
  return ln_png_write(fp, t->data, t->dims[0], t->dims[1], c, err, errlen);
}

/* Save a PNG whole or not at all (fileio.h, ln_atomic_*: through
** symlinks, never over a device or FIFO, nothing left behind on failure).
** Returns 0, or -1 with the reason in err. */
static int save_atomic(const char *path, const ln_Tensor *t, int c, char *err, size_t errlen) {
  ln_Atomic a;
  FILE *fp;
  int fd, e;
  if (ln_atomic_begin(&a, path, err, errlen) != 0) return -1;
  fd = a.fd;
  fp = fdopen(fd, "wb");
  if (fp == NULL) {
    e = errno;
    ln_atomic_cancel(&a);
    snprintf(err, errlen, "%s", strerror(e));
    return -1;
  }
  a.fd = -1; /* the FILE owns it */
  if (write_png(fp, t, c, err, errlen) != 0) { fclose(fp); ln_atomic_cancel(&a); return -1; }
  if (fflush(fp) != 0) {
    e = errno;
    fclose(fp);
    ln_atomic_cancel(&a);
    snprintf(err, errlen, "%s", strerror(e));
    return -1;
  }
  if (ln_atomic_commit(&a, fd, err, errlen) != 0) { fclose(fp); ln_atomic_cancel(&a); return -1; }
  fclose(fp); /* synced and renamed: a late close error changes nothing */
  return 0;
}

/* lunet.image.save(path, img): 8-bit PNG, gray (H x W) or RGB (H x W x 3) */
static int l_save(lua_State *L) {
  const char *who = "lunet.image.save";
  const char *path = luaL_checkstring(L, 1);
  ln_Tensor *t = ln_checktensor(L, 2);
  int c = imgchannels(L, t, who);
  char err[LN_ERRLEN];
  if (save_atomic(path, t, c, err, sizeof err) != 0) ln_error(L, "%s: %s: %s", who, path, err);
  return 0;
}

/* lunet.image.resize(img, width, height, { method = "bilinear" }) */
static int l_resize(lua_State *L) {
  static const char *const opts[] = {"method", NULL};
  const char *who = "lunet.image.resize";
  ln_Tensor *t = ln_checktensor(L, 1), *o;
  lua_Integer w = luaL_checkinteger(L, 2), h = luaL_checkinteger(L, 3);
  const char *method = "bilinear";
  size_t dims[3], c;
  int area;
  if (t->ndim != 2 && t->ndim != 3) {
    char sb[LN_SHAPELEN];
    ln_error(L, "%s: image is %s, expected H x W or H x W x C", who, ln_shapestr(t, sb));
  }
  if (w < 1 || h < 1 || w > (1 << 24) || h > (1 << 24))
    ln_error(L, "%s: width and height must be in 1..16777216, got %lld x %lld", who, (long long)w, (long long)h);
  ln_checkoptions(L, 4, who, opts);
  if (!lua_isnoneornil(L, 4)) {
    lua_getfield(L, 4, "method");
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING)
        ln_error(L, "%s: option 'method' must be a string, got %s", who, luaL_typename(L, -1));
      method = lua_tostring(L, -1);
    }
  }
  if (strcmp(method, "bilinear") == 0) area = 0;
  else if (strcmp(method, "area") == 0) area = 1;
  else ln_error(L, "%s: unknown method '%s' (expected \"bilinear\" or \"area\")", who, method);
  c = t->ndim == 3 ? t->dims[2] : 1;
  dims[0] = (size_t)h; dims[1] = (size_t)w; dims[2] = c;
  o = ln_newtensor_uninit(L, t->ndim, dims);
  if (area) ln_resize_area(t->data, t->dims[0], t->dims[1], c, o->data, dims[0], dims[1]);
  else ln_resize_bilinear(t->data, t->dims[0], t->dims[1], c, o->data, dims[0], dims[1]);
  return 1;
}

static const luaL_Reg image_funcs[] = {
  {"load", l_load}, {"save", l_save}, {"resize", l_resize},
  {NULL, NULL}
};

void ln_open_image(lua_State *L) {
  luaL_newlib(L, image_funcs);       /* module, image */
  lua_setfield(L, -2, "image");
}
