/* model.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_model(lua_State *L) { (void)L; }
