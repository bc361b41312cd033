-- luacheck configuration (Debian package lua-check): `luacheck lua spec examples`
std = "lua54"
max_line_length = 120
-- the spec runs under busted (describe, it, assert, spy, ...)
files["spec"] = { std = "+busted" }
-- generated and vendored files: none
