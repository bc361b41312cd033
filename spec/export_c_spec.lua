--- Model:export_c (lua/lunet/export_c.lua): the files it writes and the
-- errors it gives (test/export_c.lua compiles exported networks and compares
-- their predictions in CI).
local lunet = require "lunet"
local check = require "helpers.check"

describe("Model:export_c", function()
  it("writes the .c file and a header with the sizes, the weights exactly", function()
    lunet.seed(1)
    local m = lunet.Model()
    m:add(lunet.Dense(3, 4)); m:add(lunet.ReLU()); m:add(lunet.Dense(4, 2)); m:add(lunet.Softmax())
    m:finalize()
    local dir = check.tmpdir()
    m:export_c(dir .. "/tiny.c", { name = "tiny" })
    local h, c = check.readall(dir .. "/tiny.h"), check.readall(dir .. "/tiny.c")
    assert.truthy(h:find("#define TINY_INPUTS 3", 1, true))
    assert.truthy(h:find("#define TINY_OUTPUTS 2", 1, true))
    assert.truthy(h:find("#define TINY_SCRATCH 8", 1, true))
    assert.truthy(h:find("void tiny_predict(const float *x, size_t rows, float *out, float *scratch);", 1, true))
    assert.truthy(c:find(string.format("%a", m.layers[1].weights:get(1, 1)), 1, true))
    assert.falsy(c:find("malloc", 1, true))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("names what it cannot express", function()
    local dir = check.tmpdir()
    local m = lunet.Model()
    local lua_layer = { forward = function(_, x) return x end, backward = function(_, d) return d end }
    m:add(lunet.Dense(2, 2)); m:add(lua_layer); m:finalize()
    check.raises("Model:export_c: layer 2 (Lua layer) is written in Lua: C source cannot express it", m.export_c, m,
                 dir .. "/a.c")
    local cnn = lunet.Model()
    cnn:add(lunet.Conv2D(1, 2, 3)); cnn:add(lunet.Flatten()); cnn:finalize()
    check.raises("declare the input with lunet.Input(...)", cnn.export_c, cnn, dir .. "/b.c")
    local ok = lunet.Model()
    ok:add(lunet.Dense(2, 2)); ok:finalize()
    check.raises("path must be a string ending in .c", ok.export_c, ok, dir .. "/net.cpp")
    check.raises("option 'name' must be a C identifier", ok.export_c, ok, dir .. "/c.c", { name = "2net" })
    check.raises("unknown option 'prefix'", ok.export_c, ok, dir .. "/c.c", { prefix = "x" })
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
