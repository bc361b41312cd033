/* data.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_data(lua_State *L) { (void)L; }
