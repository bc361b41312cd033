-- hardening_spec.lua: the defects of issue 13 ("hard to break, round two"),
-- each with the case that showed it: shared layers, sizes that overflow,
-- FIFOs, files that declare more than they hold, states that save but do
-- not load, thread-count independence, error rows, saves through symlinks,
-- strict safetensors headers.
local lunet = require "lunet"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local function path(name) return dir .. "/" .. name end

local raises = require("helpers.check").raises

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

describe("toy data sets of absurd sizes", function()
  it("raise at once instead of filling Lua tables until memory runs out", function()
    local big = math.maxinteger
    raises({ "lunet.data.spiral: " .. big .. " samples x " .. big .. " classes is too many" },
      lunet.data.spiral, big, big)
    raises({ "lunet.data.vertical: " .. big .. " samples x 2 classes is too many" }, lunet.data.vertical, big, 2)
    raises({ "lunet.data.sine: " .. big .. " samples is too many" }, lunet.data.sine, big)
    local X, y = lunet.data.spiral(3, 2)
    assert.are.same({ 6, 2 }, { X:shape() })
    assert.are.same({ 1, 1, 1, 2, 2, 2 }, y:totable())
  end)
end)

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

describe("model files: what save writes, load reads back; what load refuses, it names", function()
  local st = lunet.safetensors
  local json = { encode = require("lunet.core")._json_encode, decode = require("lunet.core")._json_decode }

  local function regression(opt)
    lunet.seed(1)
    local m = lunet.Model()
    m:add(lunet.Dense(1, 4)); m:add(lunet.ReLU()); m:add(lunet.Dense(4, 1)); m:add(lunet.Linear())
    m:set { loss = lunet.MeanSquaredError(), optimizer = opt or lunet.Adam(), accuracy = lunet.RegressionAccuracy() }
    return m:finalize()
  end

  -- a file holding `tensors` and the architecture text `arch`
  local function modelfile(name, tensors, arch)
    local p = path(name)
    st.save(p, tensors, { format = "lunet.model", ["lunet.model"] = arch })
    return p
  end

  it("declared layers are checked against the file's tensors before anything is allocated", function()
    local p = modelfile("liar.safetensors", { ["layers.1.weights"] = lunet.zeros(2, 3),
      ["layers.1.biases"] = lunet.zeros(1, 3) },
      '{"layers":[{"type":"Dense","n_inputs":20000,"n_neurons":20000},{"type":"Softmax"}]}')
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    raises({ "lunet.Model.load: " .. p .. ": tensor 'layers.1.weights' is 2x3, layer 1 (Dense(20000 -> 20000)) " ..
             "needs 20000x20000" }, lunet.Model.load, p)
    local grew = collectgarbage("count") - before -- tensors are Lua userdata: counted here
    collectgarbage("restart")
    assert(grew < 10 * 1024, string.format("Model.load allocated %.0f KB before refusing the file", grew))
    local q = modelfile("missing.safetensors", {}, '{"layers":[{"type":"Dense","n_inputs":3,"n_neurons":2}]}')
    raises({ "lunet.Model.load: " .. q .. ": tensor 'layers.1.weights' is missing (layer 1 (Dense(3 -> 2)))" },
      lunet.Model.load, q)
  end)

  it("a regression on constant targets (precision 0) saves and loads back", function()
    local m = regression()
    local X, y = lunet.randn(32, 1), lunet.full(3, 32, 1)
    m:train(X, y, { epochs = 2, verbose = 0 })
    assert.are.equal(0, m.accuracy.precision)
    local p = path("constant.safetensors")
    m:save(p)
    local m2 = lunet.Model.load(p)
    assert.are.equal(0, m2.accuracy.precision)
    same(m:predict(X), m2:predict(X))
  end)

  it("a state save cannot write raises naming the model field and the value", function()
    local m = regression()
    local y = lunet.full(1, 8, 1)
    y:set(3, 1, 0 / 0)
    m.accuracy:init(y, true)
    local p = path("nan.safetensors")
    raises({ "Model:save: " .. p .. ": accuracy.precision is nan, which a model file cannot hold",
             "set model.accuracy.precision" }, m.save, m, p)
    assert.is_nil(io.open(p, "rb"))
  end)

  it("iteration counts stay in 0..2^53 and every count saves and loads", function()
    local opt = lunet.Adam()
    raises({ "Adam: iterations must be an integer in 0..2^53, got " .. math.maxinteger },
      function() opt.iterations = math.maxinteger end)
    local m = regression(opt)
    opt.iterations = 1 << 53
    local X, y = lunet.randn(16, 1), lunet.randn(16, 1)
    m:train(X, y, { epochs = 2, verbose = 0 })
    assert.are.equal(1 << 53, opt.iterations) -- the counter stops there instead of wrapping
    local p = path("iterations.safetensors")
    m:save(p)
    assert.are.equal(1 << 53, lunet.Model.load(p).optimizer.iterations)
    local tensors, meta = st.load(p)
    -- a file that says more (JSON numbers are doubles: past 2^53 no integer is exact)
    for _, n in ipairs { "9223372036854775807", "1e300", "-1", "2.5" } do
      local text, k = meta["lunet.model"]:gsub('"iterations":9007199254740992', '"iterations":' .. n)
      assert.are.equal(1, k)
      local q = modelfile("iterations2.safetensors", tensors, text)
      raises({ "lunet.Model.load: " .. q .. ":", "iterations must be an integer" }, lunet.Model.load, q)
    end
    -- the encoder refuses to write what would not read back
    raises({ "json: integer 9223372036854775807 is beyond 2^53" }, json.encode, { n = math.maxinteger })
  end)

  it("optimizer state must be finite, caches non-negative (set_state and Model.load)", function()
    local m = regression()
    local d = m.layers[1]
    local opt = m.optimizer
    local good = { weight_momentums = lunet.zeros(1, 4), weight_cache = lunet.zeros(1, 4),
                   bias_momentums = lunet.zeros(1, 4), bias_cache = lunet.zeros(1, 4) }
    opt:set_state(d, good)
    local neg = { weight_momentums = lunet.zeros(1, 4), weight_cache = lunet.full(-1, 1, 4),
                  bias_momentums = lunet.zeros(1, 4), bias_cache = lunet.zeros(1, 4) }
    raises({ "Adam:set_state: weight_cache[1] is -1", ">= 0" }, opt.set_state, opt, d, neg)
    local nan = lunet.zeros(1, 4)
    nan:set(1, 2, 0 / 0)
    neg.weight_cache, neg.bias_momentums = lunet.zeros(1, 4), nan
    raises({ "Adam:set_state: bias_momentums[2] is", "finite" }, opt.set_state, opt, d, neg)
    -- the same from a file
    m:train(lunet.randn(8, 1), lunet.randn(8, 1), { verbose = 0 })
    local p = path("state.safetensors")
    m:save(p)
    local tensors, meta = st.load(p)
    tensors["optimizer.layers.1.weight_cache"] = lunet.full(-0.5, 1, 4)
    local q = modelfile("badstate.safetensors", tensors, meta["lunet.model"])
    raises({ "lunet.Model.load: " .. q .. ": optimizer state of layer 1:", "weight_cache[1] is -0.5" },
      lunet.Model.load, q)
  end)

  it("every corrupt architecture raises 'lunet.Model.load: <path>: ...'", function()
    local m = regression(lunet.SGD { momentum = 0.5 })
    m:train(lunet.randn(8, 1), lunet.randn(8, 1), { verbose = 0 })
    local p = path("good.safetensors")
    m:save(p)
    local tensors, meta = st.load(p)
    local spec = json.decode(meta["lunet.model"])
    local junk = { 1, -1, 0.5, "x", true, {}, { 1, 2 }, { type = "Dense" } }
    -- every field of the saved architecture, replaced by every junk value
    local fields = {}
    local function walk(t, keys)
      for k, v in pairs(t) do
        local kk = { table.unpack(keys) }
        kk[#kk + 1] = k
        fields[#fields + 1] = kk
        if type(v) == "table" then walk(v, kk) end
      end
    end
    walk(spec, {})
    local n = 0
    for _, keys in ipairs(fields) do
      for _, j in ipairs(junk) do
        local s = json.decode(meta["lunet.model"])
        local t = s
        for i = 1, #keys - 1 do t = t[keys[i]] end
        t[keys[#keys]] = j
        local q = modelfile("corrupt.safetensors", tensors, json.encode(s))
        local ok, err = pcall(lunet.Model.load, q)
        if not ok then
          n = n + 1
          assert(tostring(err):find("lunet.Model.load: " .. q .. ": ", 1, true) == 1, tostring(err))
        end
      end
    end
    for _, text in ipairs { "", "[]", "3", '"x"', "{", '{"layers":{}}', '{"layers":[[]]}', "null" } do
      local q = modelfile("corrupt.safetensors", tensors, text)
      local err = raises({ "lunet.Model.load: " .. q .. ": " }, lunet.Model.load, q)
      assert(err:find("lunet.Model.load: ", 1, true) == 1, err)
    end
    assert(n > 50, "only " .. n .. " of the corrupt files were refused")
  end)
end)

describe("results independent of the thread count and of the path (OpenBLAS and portable builds)", function()
  -- 784-128-10 with Adam, the report's network, at batch sizes across every
  -- threshold (split work, OpenBLAS' small-matrix switch at M N K = 10^6,
  -- its K blocks of 256..512, the tiles' k blocks of 128)
  local N = 1100
  local function data()
    lunet.seed(6)
    local X = lunet.randn(N, 784)
    local labels = {}
    for i = 1, N do labels[i] = (i * 7) % 10 + 1 end
    return X, lunet.tensor(labels)
  end
  local function layers()
    lunet.seed(5)
    return lunet.Dense(784, 128), lunet.Dense(128, 10)
  end
  local function trained(threads, bs)
    local X, y = data()
    local d1, d2 = layers()
    local m = lunet.Model()
    m:add(d1); m:add(lunet.ReLU()); m:add(d2); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    lunet.set_threads(threads)
    local ok, h = pcall(m.train, m, X, y, { epochs = 1, batch_size = bs, verbose = 0 })
    lunet.set_threads(2)
    assert(ok, h)
    return { d1.weights, d1.biases, d2.weights, d2.biases }, h.loss[1]
  end
  -- the book's loop, layer by layer (OpenBLAS may use its own threads here)
  local function book(bs)
    local X, y = data()
    local d1, d2 = layers()
    local a1, la, opt = lunet.ReLU(), lunet.SoftmaxCategoricalCrossentropy(), lunet.Adam()
    for s = 1, N, bs do
      local bx, by = X:rows(s, math.min(N, s + bs - 1)), y:rows(s, math.min(N, s + bs - 1))
      d1:forward(bx, true); a1:forward(d1.output, true); d2:forward(a1.output, true)
      la:forward(d2.output, by)
      la:backward(la.output, by); d2:backward(la.dinputs); a1:backward(d2.dinputs); d1:backward(a1.dinputs)
      opt:pre_update_params(); opt:update_params(d1); opt:update_params(d2); opt:post_update_params()
    end
    return { d1.weights, d1.biases, d2.weights, d2.biases }
  end

  for _, bs in ipairs { 1, 7, 128, 513, 600, 1000 } do
    it("batch " .. bs .. ": train on 1, 2, 3 and 5 threads equals the layer-by-layer loop bit for bit", function()
      local want = book(bs)
      local loss1
      for _, threads in ipairs { 1, 2, 3, 5 } do
        local got, loss = trained(threads, bs)
        loss1 = loss1 or loss
        assert.are.equal(loss1, loss, threads .. " threads")
        for i = 1, #want do
          assert((want[i] - got[i]):abs():max() == 0,
            string.format("parameter %d differs from the book loop on %d threads", i, threads))
        end
      end
    end)
  end
end)

describe("a bad label", function()
  it("is reported at its row of y, not of the batch (train, shuffled or not, on 1 and 2 threads; evaluate)", function()
    local function setup()
      lunet.seed(2)
      local m = lunet.Model()
      m:add(lunet.Dense(4, 16)); m:add(lunet.ReLU()); m:add(lunet.Dense(16, 3)); m:add(lunet.Softmax())
      m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.SGD(), accuracy = lunet.CategoricalAccuracy() }
      return m:finalize()
    end
    local X = lunet.randn(2000, 4)
    local labels = {}
    for i = 1, 2000 do labels[i] = i % 3 + 1 end
    labels[1500] = 0
    local y = lunet.tensor(labels)
    for _, threads in ipairs { 1, 2 } do
      for _, shuffle in ipairs { false, true } do
        lunet.set_threads(threads)
        local m = setup()
        local ok, err = pcall(m.train, m, X, y, { epochs = 2, batch_size = 64, shuffle = shuffle, verbose = 0 })
        lunet.set_threads(2)
        assert.is_false(ok)
        assert.matches("Model:train: loss: label 0 at row 1500 of y is outside 1..3", err, 1, true)
      end
    end
    local m = setup()
    raises({ "Model:evaluate: loss: label 0 at row 1500 of y is outside 1..3" }, m.evaluate, m, X, y,
      { batch_size = 64, verbose = 0 })
    labels[1500] = 1.5
    raises({ "Model:train: loss: label 1.5 at row 1500 of y is not an integer" }, m.train, m, X, lunet.tensor(labels),
      { batch_size = 100, verbose = 0 })
  end)
end)

describe("saving (safetensors, Model:save, image.save)", function()
  local st = lunet.safetensors
  local function listdir(d)
    local f = assert(io.popen("ls -A '" .. d .. "'"))
    local names = {}
    for l in f:lines() do names[#names + 1] = l end
    f:close()
    table.sort(names)
    return names
  end
  local function islink(p) return os.execute("test -L '" .. p .. "'") == true end

  it("writes through a symlink to its target, which keeps being a link", function()
    local d = path("links")
    assert(os.execute("mkdir -p '" .. d .. "/real' && ln -sf real/m.safetensors '" .. d .. "/m.safetensors'" ..
                      " && ln -sf real/p.png '" .. d .. "/p.png'"))
    -- a dangling link: the save creates its target
    st.save(d .. "/m.safetensors", { a = lunet.tensor { 1 } })
    assert.is_true(islink(d .. "/m.safetensors"))
    assert.are.same({ 1 }, st.load(d .. "/real/m.safetensors").a:totable())
    -- an existing target is replaced, the link stays
    st.save(d .. "/m.safetensors", { a = lunet.tensor { 2 } })
    assert.is_true(islink(d .. "/m.safetensors"))
    assert.are.same({ 2 }, st.load(d .. "/real/m.safetensors").a:totable())
    lunet.image.save(d .. "/p.png", lunet.full(255, 2, 3))
    assert.is_true(islink(d .. "/p.png"))
    assert.are.same({ 2, 3 }, { lunet.image.load(d .. "/real/p.png"):shape() })
    assert.are.same({ "m.safetensors", "p.png" }, listdir(d .. "/real"))
    -- a chain of links, and a loop
    assert(os.execute("cd '" .. d .. "' && ln -sf m.safetensors chain && ln -sf loop1 loop2 && ln -sf loop2 loop1"))
    st.save(d .. "/chain", { a = lunet.tensor { 3 } })
    assert.are.same({ 3 }, st.load(d .. "/real/m.safetensors").a:totable())
    raises({ "lunet.safetensors.save: " .. d .. "/loop1: Too many levels of symbolic links" },
      st.save, d .. "/loop1", { a = lunet.tensor { 1 } })
  end)

  it("saves under any legal file name (255 bytes), leaving no temporary file", function()
    local d = path("long")
    assert(os.execute("mkdir -p '" .. d .. "'"))
    local name = string.rep("n", 255 - #".safetensors") .. ".safetensors"
    local m = lunet.Model()
    m:add(lunet.Dense(2, 2)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    m:save(d .. "/" .. name)
    local png = string.rep("p", 251) .. ".png"
    lunet.image.save(d .. "/" .. png, lunet.zeros(2, 2))
    assert.are.same({ name, png }, listdir(d))
    assert.are.same(m:get_parameters()[1][1]:totable(),
      lunet.Model.load(d .. "/" .. name):get_parameters()[1][1]:totable())
  end)

  -- O_TMPFILE: a save killed while writing leaves nothing (where the file
  -- system supports it; others fall back to a short temporary name)
  local fs = io.popen("stat -f -c %T '" .. dir .. "' 2>/dev/null"):read("l") or ""
  local tmpfile_fs = ({ ["ext2/ext3"] = true, tmpfs = true, xfs = true, btrfs = true })[fs]
  local test = tmpfile_fs and it or pending
  test("a save killed by SIGKILL while writing leaves no temporary file behind (" .. fs .. ")", function()
    local d = path("killed")
    assert(os.execute("mkdir -p '" .. d .. "'"))
    local target = d .. "/big.safetensors"
    -- the child saves a 64 MB tensor over and over until it is killed
    local code = string.format([[
      local lunet = require "lunet"
      local t = lunet.zeros(4096, 4096)
      io.write("ready\n"); io.flush()
      while true do lunet.safetensors.save(%q, { t = t }) end]], target)
    local env = string.format("LUA_PATH=%q LUA_CPATH=%q", package.path, package.cpath)
    assert(os.execute(string.format("(%s timeout -s KILL 1.5 lua5.4 -e %q >/dev/null 2>&1; true)", env, code)))
    local names = listdir(d)
    for _, n in ipairs(names) do assert.are.equal("big.safetensors", n) end
  end)
end)

describe("safetensors headers as strict as the format's own tools", function()
  local st = lunet.safetensors
  local function file(name, header, data)
    local p = path(name)
    local f = assert(io.open(p, "wb"))
    f:write(string.pack("<I8", #header), header, data or string.pack("<f", 1.5))
    f:close()
    return p
  end
  it("refuse a name or metadata holding \\u0000 (it loaded as a shorter name)", function()
    local p = file("nul.safetensors", '{"a\\u0000b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
    raises({ "lunet.safetensors.load: " .. p .. ": header holds \\u0000 (a NUL character) in a string at byte 3" },
      st.load, p)
    local q = file("nulmeta.safetensors",
      '{"__metadata__":{"k":"v\\u0000"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
    raises({ "header holds \\u0000" }, st.load, q)
    -- an escaped backslash before u0000 is six plain characters
    local r = file("plain.safetensors", '{"a\\\\u0000":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
    assert.are.same({ 1.5 }, st.load(r)["a\\u0000"]:totable())
  end)
  it("refuse a key given twice inside one tensor's entry (the first was kept)", function()
    local p = file("dupkey.safetensors",
      '{"w":{"dtype":"F32","shape":[1],"shape":[2],"data_offsets":[0,4]}}')
    raises({ "lunet.safetensors.load: " .. p .. ": tensor 'w': key 'shape' appears twice" }, st.load, p)
  end)
end)

describe("the rock's and the README's own files", function()
  local function read(p)
    local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close()
    return s
  end
  it("the rockspec names no folder of one machine and no homepage nobody owns", function()
    local r = read("rockspec/lunet-scm-1.rockspec")
    assert.is_nil(r:find("file://", 1, true))
    assert.is_nil(r:find("/work/", 1, true))
    assert.is_nil(r:find("homepage", 1, true))
    local url = r:match('url%s*=%s*"([^"]+)"')
    assert.are.equal("git+https://lunet.invalid/lunet.git", url)
    assert(read("README.md"):find(url, 1, true), "the README explains the placeholder")
  end)
  it("every link of README.md and doc/ stays inside the repository and exists", function()
    for _, p in ipairs { "README.md", "doc/api.md", "examples/README.md" } do
      local base = p:match("^(.*)/") or "."
      for target in read(p):gmatch("%]%(([^)#]+)") do
        if not target:find("^%a+://") then
          assert.is_nil(target:find("^%.%./"), p .. " links outside the repository: " .. target)
          local f = io.open(base .. "/" .. target, "rb")
          assert(f, p .. " links a missing file: " .. target)
          f:close()
        end
      end
    end
  end)
  it("lunet.now() is documented and gives monotonic seconds", function()
    local a = lunet.now()
    local b = lunet.now()
    assert.are.equal("float", math.type(a))
    assert(b >= a)
    assert(read("doc/api.md"):find("lunet.now()", 1, true))
    assert.is_nil(lunet._now)
  end)
end)

describe("after Model:train returns", function()
  it("no thread burns CPU while the host sleeps", function()
    lunet.seed(1)
    local m = lunet.Model()
    m:add(lunet.Dense(784, 128)); m:add(lunet.ReLU()); m:add(lunet.Dense(128, 10)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    local X, y = lunet.randn(256, 784), lunet.ones(256)
    -- the CPU time of this process's threads other than the main one (the
    -- workers), in clock ticks, from /proc: the child that sleeps is forked by
    -- the main thread, so its cost (which grows with the heap) is not counted
    local f = assert(io.open("/proc/self/stat"))
    local pid = f:read("a"):match("^(%d+)")
    f:close()
    local function worker_ticks()
      local p = assert(io.popen("ls /proc/" .. pid .. "/task"))
      local tids = p:read("a")
      p:close()
      local ticks = 0
      for tid in tids:gmatch("%d+") do
        if tid ~= pid then
          local s = io.open("/proc/" .. pid .. "/task/" .. tid .. "/stat")
          if s then
            local line = s:read("a")
            s:close()
            local rest = line:match("%) (.*)$") -- after the command name
            local fields = {}
            for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
            ticks = ticks + tonumber(fields[12]) + tonumber(fields[13]) -- utime, stime
          end
        end
      end
      return ticks
    end
    local function during_sleep()
      local t0 = worker_ticks()
      os.execute("sleep 0.5")
      return worker_ticks() - t0
    end
    lunet.set_threads(2)
    m:train(X, y, { epochs = 2, batch_size = 128, verbose = 0 }) -- the split step's worker ran
    -- a spinning worker would use about 50 ticks (100 a second) in 0.5 s; at
    -- most one tick (10 ms of CPU) is the requirement's 10 ms a second
    local used = during_sleep()
    assert(used <= 1, string.format("the workers used %d ticks of CPU during 0.5 s of sleep after train", used))
    -- nor after a training job's step (a game's frame)
    local job = m:trainer(X, y, { epochs = 1, batch_size = 128, verbose = 0 })
    job:step(1)
    used = during_sleep()
    assert(used <= 1, string.format("the workers used %d ticks of CPU during 0.5 s of sleep after job:step", used))
    -- and the measure sees a spinning worker: right after a layer's job that
    -- holds the pool awake it spins until IDLE_NS (3 ms), never 0.5 s
  end)
end)
