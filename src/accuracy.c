/* accuracy.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_accuracy(lua_State *L) { (void)L; }
