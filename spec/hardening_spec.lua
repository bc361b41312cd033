-- hardening_spec.lua: the defects of issue 13 ("hard to break, round two"),
-- each with the case that showed it: shared layers, sizes that overflow,
-- FIFOs, files that declare more than they hold, states that save but do
-- not load, thread-count independence, error rows, saves through symlinks,
-- strict safetensors headers.
local lunet = require "lunet"
local check = require "helpers.check"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local function path(name) return dir .. "/" .. name end

-- the message of f(...), which must raise one containing every part
local function raises(parts, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error containing '" .. parts[1] .. "', got none")
  msg = tostring(msg)
  for _, p in ipairs(parts) do
    assert(msg:find(p, 1, true), "expected '" .. p .. "' in the error, got: " .. msg)
  end
  return msg
end

local function same(a, b)
  assert.are.same({ a:shape() }, { b:shape() })
  assert.are.same(a:totable(), b:totable())
end

describe("sharing a layer without parameters (API.md, Sharing objects)", function()
  -- the model of the report: one ReLU at two positions of widths 64 and 3
  local function build(shared, threads)
    lunet.seed(7)
    local relu = lunet.ReLU()
    local r2, r4 = relu, relu
    if not shared then r2, r4 = lunet.ReLU(), lunet.ReLU() end
    local m = lunet.Model()
    m:add(lunet.Dense(4, 64)); m:add(r2); m:add(lunet.Dense(64, 3)); m:add(r4)
    m:add(lunet.Dense(3, 5)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.SGD(), accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    lunet.seed(8)
    local X, y = lunet.randn(1024, 4), lunet.ones(1024)
    lunet.set_threads(threads)
    local ok, err = pcall(m.train, m, X, y, { epochs = 3, batch_size = 64, verbose = 0 })
    lunet.set_threads(2)
    assert(ok, err)
    return m, X
  end

  it("gives the numbers of two separate objects, on one thread and two", function()
    collectgarbage("incremental", 50, 100) -- the report's setting: buffers freed early
    for _, threads in ipairs { 1, 2 } do
      local a, X = build(true, threads)
      local b = build(false, threads)
      local pa, pb = a:get_parameters(), b:get_parameters()
      for i = 1, #pa do same(pa[i][1], pb[i][1]); same(pa[i][2], pb[i][2]) end
      same(a:predict(X), b:predict(X))
      -- the layer-by-layer path too: forward then backward through both
      local oa, ob = a:forward(X, true), b:forward(X, true)
      same(oa, ob)
      local yl = lunet.ones(1024)
      a:backward(oa, yl); b:backward(ob, yl)
      same(a.layers[1].dweights, b.layers[1].dweights)
    end
    collectgarbage("incremental", 200, 100) -- Lua 5.4's defaults
  end)

  it("keeps the user's object at its first position and a copy at the others", function()
    local relu = lunet.ReLU()
    local m = lunet.Model()
    m:add(lunet.Dense(2, 4)); m:add(relu); m:add(lunet.Dense(4, 3)); m:add(relu)
    assert.are.equal(relu, m.layers[2])
    assert.are_not.equal(relu, m.layers[4])
    assert.are.equal("ReLU", tostring(m.layers[4]):match("ReLU"))
    local d = lunet.Dropout(0.3)
    m:add(d); m:add(d)
    assert.are.equal(0.3, m.layers[6].rate)
  end)

  it("raises when a layer with parameters is added at a second position, naming both", function()
    local d = lunet.Dense(3, 3)
    local m = lunet.Model()
    m:add(d); m:add(lunet.ReLU())
    raises({ "Model:add: layer 3 (Dense(3 -> 3))", "already at layer 1" }, m.add, m, d)
    assert.are.equal(2, #m.layers)
  end)
end)

describe("sizes from Lua that overflow", function()
  local function model()
    local m = lunet.Model()
    m:add(lunet.Dense(2, 3)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.SGD(), accuracy = lunet.CategoricalAccuracy() }
    return m:finalize()
  end
  local X, y = lunet.randn(10, 2), lunet.ones(10)
  local big = math.maxinteger

  it("Model:_shuffle refuses sizes that would wrap (1 << 61 wrote 2^61 entries)", function()
    local m = model()
    raises({ "Model:_shuffle: argument 1 (rows) must be in 1..", "got " .. (1 << 61) }, m._shuffle, m, 1 << 61)
    raises({ "Model:_shuffle" }, m._shuffle, m, big)
    raises({ "Model:_shuffle" }, m._shuffle, m, 0)
    m:_shuffle(10) -- still usable
  end)

  it("Model:_steps and _eval_step check their ranges without overflow", function()
    local m = model()
    raises({ "Model:train:", "outside the 10 samples" }, m._steps, m, X, y, big, 1, 1, false, true)
    raises({ "Model:train:", "outside the 10 samples" }, m._steps, m, X, y, big, big, big, false, true)
    assert.are.equal(1, (m:_steps(X, y, 0, 1, big, false, true))) -- one batch of everything
    raises({ "Model:train:", "outside the 10 samples" }, m._steps, m, X, y, 0, big, 1, false, true)
    raises({ "Model:evaluate:", "outside 1..10" }, m._eval_step, m, X, y, 2, big)
    raises({ "Model:evaluate:", "outside 1..10" }, m._eval_step, m, X, y, big, 2)
    raises({ "Model:evaluate:", "outside 1..10" }, m._eval_step, m, X, y, big, big)
    local loss = m:_eval_step(X, y, 1, 10)
    assert(loss > 0)
  end)
end)

-- run a Lua chunk in a child interpreter with this module, under `timeout`
-- (a reader that blocks would hang the spec, not fail it); returns its
-- output and whether it exited 0
local function child(code, seconds)
  local env = string.format("LUA_PATH=%q LUA_CPATH=%q", package.path, package.cpath)
  local f = assert(io.popen(string.format("%s timeout %d lua5.4 -e %q 2>&1", env, seconds or 20, code)))
  local out = f:read("a")
  local ok = f:close()
  return out, ok
end

describe("readers on a FIFO (no writer)", function()
  it("every binary reader and image.save raise at once, naming the path and the reason", function()
    local fifo, folder = path("fifo.bin"), path("fifofolder")
    assert(os.execute("mkfifo '" .. fifo .. "' && mkdir -p '" .. folder .. "/1' && mkfifo '" .. folder .. "/1/b.png'"))
    local out, ok = child(string.format([[
      local lunet = require "lunet"
      local fifo, folder = %q, %q
      local calls = {
        function() return lunet.safetensors.load(fifo) end,
        function() return lunet.Model.load(fifo) end,
        function() return lunet.data.idx(fifo) end,
        function() return lunet.image.load(fifo) end,
        function() return lunet.image.save(fifo, lunet.zeros(2, 2)) end,
        function() return lunet.data.image_folder(folder) end,
      }
      for i, f in ipairs(calls) do
        local ok, err = pcall(f)
        print(i, ok, (tostring(err):gsub("\n", " ")))
      end]], fifo, folder))
    assert(ok, "the child hung or crashed: " .. out)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(6, #lines, out)
    local who = { "lunet.safetensors.load", "lunet.Model.load", "lunet.data.idx", "lunet.image.load",
                  "lunet.image.save", "lunet.data.image_folder" }
    for i, l in ipairs(lines) do
      assert(l:find("^" .. i .. "\tfalse\t"), l)
      assert(l:find(who[i], 1, true), l)
      assert(l:find("not a regular file (a FIFO)", 1, true), l)
      assert(l:find(i == 6 and "b.png" or fifo, 1, true), l)
    end
  end)
end)

describe("gzip'd IDX files", function()
  local function writefile(p, bytes)
    local f = assert(io.open(p, "wb")); f:write(bytes); f:close()
    return p
  end
  local function gzip(p)
    assert(os.execute("gzip -nkf '" .. p .. "'"))
    return p .. ".gz"
  end
  local function readfile(p)
    local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close()
    return s
  end
  local function header(n) return "\0\0\8\1" .. string.pack(">I4", n) end

  it("refuse an expansion beyond a real IDX file's, saying so (a 4 MB tensor from 4 KB)", function()
    local p = gzip(writefile(path("zeros.idx"), header(4000000) .. string.rep("\0", 4000000)))
    raises({ "lunet.data.idx: " .. p .. ": truncated: header declares 4000000 bytes of data",
             "up to 64 times their size" }, lunet.data.idx, p)
    -- data that compresses like real data still loads
    lunet.seed(3)
    local body = {}
    for i = 1, 20000 do body[i] = string.char(math.floor(lunet.rand(1):get(1) * 16)) end
    local q = gzip(writefile(path("noise.idx"), header(20000) .. table.concat(body)))
    assert.are.equal(20000, #lunet.data.idx(q))
  end)

  it("refuse bytes after the gzip stream, as plain files refuse trailing data", function()
    local g = gzip(writefile(path("small.idx"), header(3) .. "\1\2\3"))
    local p = writefile(path("garbage.idx.gz"), readfile(g) .. "garbage")
    raises({ "lunet.data.idx: " .. p .. ": trailing data: 7 bytes after the gzip stream" }, lunet.data.idx, p)
    -- a second gzip member is part of the stream (gzip -d reads both)
    local a = gzip(writefile(path("parta.idx"), header(5) .. "\1\2"))
    local b = gzip(writefile(path("partb"), "\3\4\5"))
    local q = writefile(path("members.idx.gz"), readfile(a) .. readfile(b))
    assert.are.same({ 1, 2, 3, 4, 5 }, lunet.data.idx(q):totable())
  end)
end)
