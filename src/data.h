/*
** data.h: what data.c (lunet.data) and image.c (lunet.image) share; private
** to them: the box that owns a call's resources (readers, listings) so that
** an error half-way leaves them to the collector.
*/
#ifndef LUNET_DATA_H
#define LUNET_DATA_H

#include <dirent.h>
#include "lunet.h"
#include "kernels/image.h"

#define BOX "lunet.data.Box"

/* a growable list of malloc'd strings */
typedef struct Names {
  char **v;
  size_t n, cap;
} Names;

typedef struct Box {
  ln_IdxReader idx;
  ln_PngReader png, png2; /* png2: image_folder's second decoding thread */
  DIR *dir;
  Names dirs, files;     /* image_folder: label folders, files of all folders */
  size_t *start;         /* image_folder: first file of each folder (dirs.n + 1) */
  int *dfd;              /* image_folder: the open label folders (-1: closed) */
  size_t ndfd;
} Box;

/* push a new box in a closed state */
Box *ln_data_newbox(lua_State *L);
/* release everything the box owns; safe to call twice */
void ln_data_boxclose(Box *b);
/* register core.image on the module table (on top) */
void ln_open_image(lua_State *L);

/* the option `shape` of the options table at idx: 0 for "flat" (N x
** features, the default), 1 for "image" (N x C x H x W); raises otherwise */
int ln_data_optshape(lua_State *L, int idx, const char *who);

#endif
