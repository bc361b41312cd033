/* classify.c: a Fashion-MNIST network exported by Model:export_c, in a plain
** C program: no Lua, no lunet.  Reads a PNG (libpng), averages it down to
** 28x28 gray, inverts and scales it as the training data, prints the class.
**   lua5.4 examples/export_c.lua fashion_mnist.safetensors fashion.c
**   cc -std=c99 -O2 -I. -o classify examples/embed/classify.c fashion.c -lpng -lm
**   ./classify examples/images/sneaker.png */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include "fashion.h"

int main(int argc, char **argv) {
  static const char *names[] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                 "Sneaker", "Bag", "Ankle boot" };
  png_image img = { 0 };
  float x[FASHION_INPUTS] = { 0 }, out[FASHION_OUTPUTS], scratch[FASHION_SCRATCH];
  unsigned char *px;
  size_t i, y, best = 0;
  img.version = PNG_IMAGE_VERSION;
  if (argc != 2 || !png_image_begin_read_from_file(&img, argv[1])) return fprintf(stderr, "usage: classify file.png\n"), 1;
  img.format = PNG_FORMAT_GRAY;
  if ((px = malloc(PNG_IMAGE_SIZE(img))) == NULL || !png_image_finish_read(&img, NULL, px, 0, NULL)) return 1;
  for (y = 0; y < img.height; y++) /* each pixel into its cell of the 28 x 28 grid (an area average) */
    for (i = 0; i < img.width; i++) x[y * 28 / img.height * 28 + i * 28 / img.width] += px[y * img.width + i];
  for (i = 0; i < FASHION_INPUTS; i++) /* light clothes on black, in -1..1, as the data set */
    x[i] = (255.0f - x[i] / ((float)img.width * img.height / FASHION_INPUTS) - 127.5f) / 127.5f;
  fashion_predict(x, 1, out, scratch);
  for (i = 1; i < FASHION_OUTPUTS; i++) if (out[i] > out[best]) best = i;
  printf("%s: %s (%.1f%%)\n", argv[1], names[best], 100.0 * out[best]);
  free(px);
  return 0;
}
