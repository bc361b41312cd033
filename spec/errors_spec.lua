-- errors_spec.lua: bad input across the public API (issue 5), where the
-- per-concept specs do not already cover it: sizes and overflow, hyper-
-- parameters, shape mismatches in every forward/backward, labels, options,
-- indexes, files that lie about their contents, objects staying usable
-- after an error, and a sweep calling every function and method with junk
-- arguments (each call must return or raise a string, never crash).
local lunet = require "lunet"

-- the error message of f(...), or nil when it does not raise
local function errof(f, ...)
  local ok, msg = pcall(f, ...)
  if ok then return nil end
  return tostring(msg)
end

-- assert that f(...) raises a message containing every string in `parts`
local function raises(parts, f, ...)
  local msg = errof(f, ...)
  assert(msg, "expected an error containing '" .. parts[1] .. "', got none")
  for _, p in ipairs(parts) do
    assert(msg:find(p, 1, true), "expected '" .. p .. "' in the error, got: " .. msg)
  end
  return msg
end

-- a scratch path under a private folder
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local function path(name) return dir .. "/" .. name end
local function writefile(p, s)
  local f = assert(io.open(p, "wb")); f:write(s); f:close()
  return p
end
local function readfile(p)
  local f = io.open(p, "rb"); if not f then return nil end
  local s = f:read("a"); f:close(); return s
end

-- the largest absolute difference between two tensors of one shape
local function maxdiff(a, b) local d = a - b; return math.max(d:max(), -d:min()) end

-- a small finalized classifier on 2 inputs and 3 classes
local function classifier(hidden)
  local m = lunet.Model()
  m:add(lunet.Dense(2, hidden or 8)); m:add(lunet.ReLU())
  m:add(lunet.Dense(hidden or 8, 3)); m:add(lunet.Softmax())
  m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.01 },
          accuracy = lunet.CategoricalAccuracy() }
  m:finalize()
  return m
end

teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

describe("bad input from Lua", function()
  describe("sizes", function()
    it("rejects sizes <= 0, fractions and products past 2^40 in every constructor", function()
      for _, name in ipairs { "zeros", "ones", "randn", "rand" } do
        raises({ "lunet." .. name, "size 1 must be positive, got 0" }, lunet[name], 0, 3)
        raises({ "lunet." .. name, "size 2 must be positive, got -4" }, lunet[name], 3, -4)
        raises({ "lunet." .. name, "must be an integer" }, lunet[name], 2.5)
        raises({ "lunet." .. name, "too large" }, lunet[name], 2 ^ 31, 2 ^ 31)
        raises({ "lunet." .. name, "too large" }, lunet[name], 65536, 65536, 65536, 65536)
      end
      raises({ "lunet.full", "too large" }, lunet.full, 1, 2 ^ 21, 2 ^ 21)
      raises({ "lunet.Dense", "weights are too many" }, lunet.Dense, 2 ^ 31, 2 ^ 31)
      raises({ "lunet.Dense", "argument 2 (n_neurons)" }, lunet.Dense, 2, 0)
      raises({ "lunet.data.spiral", "samples must be a positive integer" }, lunet.data.spiral, 2 ^ 40, 3)
      raises({ "lunet.data.vertical", "classes" }, lunet.data.vertical, 10, -1)
      raises({ "lunet.image.resize", "width and height must be in" }, lunet.image.resize, lunet.zeros(2, 2), 2 ^ 40, 2)
    end)

    it("has no empty tensors, so no empty data set reaches a model", function()
      raises({ "lunet.tensor", "empty table" }, lunet.tensor, {})
      raises({ "lunet.zeros", "size 1 must be positive" }, lunet.zeros, 0, 2)
      raises({ "Tensor:rows", "out of" }, lunet.zeros(3, 2).rows, lunet.zeros(3, 2), 1, 0)
      local m = classifier()
      raises({ "Model:train", "X must be a tensor" }, m.train, m, nil, lunet.ones(3), { verbose = 0 })
      raises({ "Model:predict" }, m.predict, m, {})
    end)
  end)

  describe("hyperparameters", function()
    it("rejects out-of-range values in every optimizer", function()
      for _, name in ipairs { "SGD", "Adagrad", "RMSprop", "Adam" } do
        raises({ "lunet." .. name, "learning_rate must be a finite number >= 0, got -1" },
          lunet[name], { learning_rate = -1 })
        raises({ "lunet." .. name, "decay" }, lunet[name], { decay = -0.5 })
        raises({ "lunet." .. name, "learning_rate" }, lunet[name], { learning_rate = 0 / 0 })
        raises({ "lunet." .. name, "learning_rate" }, lunet[name], { learning_rate = math.huge })
        raises({ "lunet." .. name, "unknown option 'lr'" }, lunet[name], { lr = 1 })
        raises({ "lunet." .. name }, lunet[name], 0.1) -- options must be a table
      end
      raises({ "lunet.SGD", "momentum must be in [0, 1), got 1" }, lunet.SGD, { momentum = 1 })
      raises({ "lunet.Adam", "beta_1 must be in [0, 1), got 1.5" }, lunet.Adam, { beta_1 = 1.5 })
      raises({ "lunet.Adam", "beta_2" }, lunet.Adam, { beta_2 = -0.1 })
      raises({ "lunet.Adam", "epsilon must be a finite number > 0" }, lunet.Adam, { epsilon = 0 })
      raises({ "lunet.RMSprop", "rho must be in [0, 1), got 2" }, lunet.RMSprop, { rho = 2 })
    end)

    it("rejects negative regularizers and dropout rates outside [0, 1)", function()
      for _, opt in ipairs { "weight_regularizer_l1", "weight_regularizer_l2", "bias_regularizer_l1",
                             "bias_regularizer_l2" } do
        raises({ "lunet.Dense", "option '" .. opt .. "' must be a finite number >= 0, got -1" },
          lunet.Dense, 2, 3, { [opt] = -1 })
      end
      raises({ "lunet.Dropout", "must be in [0, 1), got 1" }, lunet.Dropout, 1)
      raises({ "lunet.Dropout", "must be in [0, 1), got inf" }, lunet.Dropout, math.huge)
    end)
  end)

  describe("shapes", function()
    it("names both shapes on a mismatch in every layer's forward and backward", function()
      local d = lunet.Dense(2, 3)
      raises({ "Dense:forward", "4x5", "expected 2 columns" }, d.forward, d, lunet.zeros(4, 5))
      raises({ "Dense:backward", "no forward pass yet" }, d.backward, d, lunet.zeros(4, 3))
      d:forward(lunet.zeros(4, 2))
      raises({ "Dense:backward", "5x3", "4x3" }, d.backward, d, lunet.zeros(5, 3))
      for _, name in ipairs { "ReLU", "Sigmoid", "Softmax", "Linear" } do
        local a = lunet[name]()
        raises({ name .. ":backward", "no forward pass yet" }, a.backward, a, lunet.zeros(2, 2))
        a:forward(lunet.full(0.5, 2, 2))
        raises({ name .. ":backward", "3x2", "2x2" }, a.backward, a, lunet.zeros(3, 2))
      end
      local drop = lunet.Dropout(0.5)
      drop:forward(lunet.ones(2, 2), true)
      raises({ "Dropout:backward", "3x2", "2x2" }, drop.backward, drop, lunet.zeros(3, 2))
    end)

    it("checks predictions against targets in every loss", function()
      local p = lunet.full(0.5, 4, 3)
      for _, name in ipairs { "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError" } do
        local loss = lunet[name]()
        raises({ name .. ":forward", "4x3", "4x2" }, loss.forward, loss, p, lunet.zeros(4, 2))
        raises({ name .. ":backward", "4x3", "5x3" }, loss.backward, loss, p, lunet.zeros(5, 3))
      end
      local cce = lunet.CategoricalCrossentropy()
      raises({ "CategoricalCrossentropy:forward", "y_true has 3 labels but y_pred has 4 rows" },
        cce.forward, cce, p, lunet.ones(3))
      raises({ "CategoricalCrossentropy:forward", "4x2" }, cce.forward, cce, p, lunet.zeros(4, 2))
    end)

    it("checks X against the model in train, evaluate and predict", function()
      local m = classifier()
      local X, y = lunet.data.spiral(5, 3)
      raises({ "Model:train", "layer 1", "15x3", "expected 2 columns" }, m.train, m, lunet.zeros(15, 3), y,
        { verbose = 0 })
      raises({ "Model:evaluate", "X has 15 samples but y has 14" }, m.evaluate, m, X, lunet.ones(14), { verbose = 0 })
      raises({ "Model:predict", "6x5", "expected 2 columns" }, m.predict, m, lunet.zeros(6, 5))
    end)

    it("checks validation data against X and y before training (regression)", function()
      local m = classifier()
      local X, y = lunet.data.spiral(5, 3)
      local before = m:predict(X)
      raises({ "Model:train", "validation_data[1] is 4x3 but X is 15x2" }, m.train, m, X, y,
        { verbose = 0, validation_data = { lunet.zeros(4, 3), lunet.ones(4) } })
      raises({ "Model:train", "validation_data[2] is 4x3 but y is 15" }, m.train, m, X, y,
        { verbose = 0, validation_data = { lunet.zeros(4, 2), lunet.ones(4, 3) } })
      -- raised before any step: the parameters did not move
      assert.equal(0, maxdiff(before, m:predict(X)))
    end)
  end)

  describe("labels and options", function()
    it("rejects labels outside 1..K, fractional labels and a wrong label count in train", function()
      local m = classifier()
      local X, y = lunet.data.spiral(5, 3)
      local bad = y:clone(); bad:set(7, 4)
      raises({ "Model:train", "label 4", "outside 1..3" }, m.train, m, X, bad, { verbose = 0 })
      bad = y:clone(); bad:set(1, 0)
      raises({ "Model:train", "label 0", "outside 1..3" }, m.train, m, X, bad, { verbose = 0 })
      bad = y:clone(); bad:set(2, 1.5)
      raises({ "Model:train", "not an integer" }, m.train, m, X, bad, { verbose = 0 })
      raises({ "Model:train", "X has 15 samples but y has 16" }, m.train, m, X, lunet.ones(16), { verbose = 0 })
    end)

    it("rejects batch sizes <= 0 or fractional everywhere they are taken", function()
      local m = classifier()
      local X, y = lunet.data.spiral(5, 3)
      raises({ "Model:train", "batch_size' must be >= 1" }, m.train, m, X, y, { batch_size = -3, verbose = 0 })
      raises({ "Model:train", "batch_size' must be an integer" }, m.train, m, X, y, { batch_size = 0.5, verbose = 0 })
      raises({ "Model:evaluate", "batch_size" }, m.evaluate, m, X, y, { batch_size = 0, verbose = 0 })
      raises({ "Model:predict", "batch_size" }, m.predict, m, X, { batch_size = 0 })
      raises({ "Model:train", "epochs' must be >= 0" }, m.train, m, X, y, { epochs = -1, verbose = 0 })
    end)

    it("rejects indexes out of range", function()
      local t = lunet.zeros(3, 4)
      raises({ "Tensor:get", "index 1 is 4, out of range 1..3 (shape 3x4)" }, t.get, t, 4, 1)
      raises({ "Tensor:get", "out of range 1..4" }, t.get, t, 1, 5)
      raises({ "Tensor:set", "out of range" }, t.set, t, 0, 1, 2)
      raises({ "Tensor:rows", "range 2..9 is out of 1..3" }, t.rows, t, 2, 9)
      raises({ "Tensor:index", "entry 2 is 4, not a row number in 1..3" }, t.index, t, { 1, 4 })
      raises({ "Tensor:index" }, t.index, t, lunet.tensor({ 1, -1 }))
    end)
  end)

  describe("objects after an error", function()
    it("stay usable: layers, losses and optimizers after failed calls", function()
      lunet.seed(3)
      local d, relu, loss = lunet.Dense(2, 3), lunet.ReLU(), lunet.MeanSquaredError()
      local opt = lunet.SGD { learning_rate = 0.1 }
      local X = lunet.randn(5, 2)
      pcall(d.forward, d, lunet.zeros(5, 4))
      pcall(loss.forward, loss, lunet.zeros(5, 3), lunet.zeros(4, 3))
      pcall(opt.update_params, opt, relu)
      local out = relu:forward(d:forward(X))
      assert.same({ 5, 3 }, { out:shape() })
      loss:forward(out, lunet.ones(5, 3))
      d:backward(relu:backward(loss:backward(out, lunet.ones(5, 3))))
      local w = d.weights:clone()
      opt:pre_update_params(); opt:update_params(d); opt:post_update_params()
      assert.is_true(maxdiff(w, d.weights) > 0)
    end)

    it("a model keeps training and predicting after each kind of failed call", function()
      lunet.seed(4)
      local m = classifier()
      local X, y = lunet.data.spiral(20, 3)
      local bad = y:clone(); bad:set(60, 9)
      pcall(m.train, m, X, bad, { verbose = 0, batch_size = 16 }) -- fails in the last batch
      pcall(m.predict, m, lunet.zeros(3, 7))
      pcall(m.evaluate, m, X, lunet.ones(3), { verbose = 0 })
      pcall(m.load_parameters, m, path("missing.safetensors"))
      pcall(m.set_parameters, m, { { lunet.zeros(3, 3), lunet.zeros(1, 3) } })
      pcall(m.add, m, "not a layer")
      local h = m:train(X, y, { epochs = 20, verbose = 0 })
      assert.equal(20, #h.loss)
      assert.is_true(h.loss[20] < h.loss[1])
      assert.same({ 60, 3 }, { m:predict(X):shape() })
    end)
  end)

  describe("junk arguments", function()
    local junk = { n = 14, nil, true, 0, -1, 2.5, 2 ^ 53, 0 / 0, math.huge, "x", {}, { { 1, 2 }, { 3 } },
                   function() end, io.stdout, "" }
    -- extra tensor-like junk built fresh for each call (methods may keep them)
    local function tensors() return { lunet.zeros(2, 3), lunet.ones(3), lunet.full(0.5, 4, 3):rows(2, 3) } end

    -- call f with every junk value (and pairs of them) and check each
    -- outcome is a return or a string error
    local function sweep(label, f, self_arg, arity)
      local count = 0
      local function try(...)
        local ok, msg
        if self_arg ~= nil then ok, msg = pcall(f, self_arg, ...) else ok, msg = pcall(f, ...) end
        count = count + 1
        if not ok then
          assert(type(msg) == "string", label .. ": error value is " .. type(msg))
          assert(#msg > 0, label .. ": empty error message")
        end
      end
      local vals = {}
      for i = 1, junk.n do vals[#vals + 1] = { junk[i] } end
      for _, t in ipairs(tensors()) do vals[#vals + 1] = { t } end
      for _, a in ipairs(vals) do
        try(a[1])
        if arity >= 2 then
          for _, b in ipairs(vals) do try(a[1], b[1]) end
        end
      end
      return count
    end

    it("never crash the constructors and functions", function()
      local skip = { set_threads = true, seed = false, version = true, fashion_mnist = true }
      local n = 0
      for name, f in pairs(lunet) do
        if type(f) == "function" and not skip[name] then n = n + sweep("lunet." .. name, f, nil, 2) end
      end
      for _, sub in ipairs { "data", "image", "safetensors" } do
        for name, f in pairs(lunet[sub]) do
          -- writers are exercised on real paths elsewhere; junk strings would create files here
          if type(f) == "function" and name ~= "fashion_mnist" and name ~= "save" and name ~= "export_image_folder" then
            n = n + sweep("lunet." .. sub .. "." .. name, f, nil, 2)
          end
        end
      end
      n = n + sweep("lunet.Model.load", lunet.Model.load, nil, 1)
      lunet.seed(1)
      assert.is_true(n > 1000)
    end)

    it("never crash the methods of any object", function()
      local function objects()
        local m = classifier(4)
        local um = lunet.Model()
        local d = lunet.Dense(3, 3)
        d:forward(lunet.ones(2, 3))
        return {
          { "Tensor", lunet.full(0.5, 2, 3), { "get", "set", "totable", "clone", "reshape", "rows", "index", "sum",
            "mean", "std", "min", "max", "argmax", "shape", "dim", "numel" } },
          { "Dense", d, { "forward", "backward", "get_parameters", "set_parameters" } },
          { "Dropout", lunet.Dropout(0.3), { "forward", "backward" } },
          { "Input", lunet.Input(), { "forward", "backward" } },
          { "ReLU", lunet.ReLU(), { "forward", "backward", "predictions" } },
          { "Sigmoid", lunet.Sigmoid(), { "forward", "backward", "predictions" } },
          { "Softmax", lunet.Softmax(), { "forward", "backward", "predictions" } },
          { "Linear", lunet.Linear(), { "forward", "backward", "predictions" } },
          { "CategoricalCrossentropy", lunet.CategoricalCrossentropy(), { "forward", "backward", "calculate",
            "regularization_loss", "calculate_accumulated", "new_pass", "remember_trainable_layers" } },
          { "BinaryCrossentropy", lunet.BinaryCrossentropy(), { "forward", "backward", "calculate" } },
          { "MeanSquaredError", lunet.MeanSquaredError(), { "forward", "backward", "calculate" } },
          { "MeanAbsoluteError", lunet.MeanAbsoluteError(), { "forward", "backward", "calculate" } },
          { "SoftmaxCategoricalCrossentropy", lunet.SoftmaxCategoricalCrossentropy(), { "forward", "backward" } },
          { "CategoricalAccuracy", lunet.CategoricalAccuracy(), { "init", "calculate", "calculate_accumulated",
            "new_pass" } },
          { "RegressionAccuracy", lunet.RegressionAccuracy(), { "init", "calculate" } },
          { "SGD", lunet.SGD { momentum = 0.5 }, { "pre_update_params", "update_params", "post_update_params" } },
          { "Adagrad", lunet.Adagrad(), { "update_params" } },
          { "RMSprop", lunet.RMSprop(), { "update_params" } },
          { "Adam", lunet.Adam(), { "update_params" } },
          { "Model", m, { "add", "set", "predict", "evaluate", "train", "get_parameters", "set_parameters",
            "load_parameters" } },
          { "Model (not finalized)", um, { "add", "set", "finalize", "predict", "train", "get_parameters" } },
        }
      end
      local n = 0
      for _, o in ipairs(objects()) do
        local obj = o[2]
        for _, meth in ipairs(o[3]) do
          local f = obj[meth]
          assert(type(f) == "function", o[1] .. ":" .. meth .. " is missing")
          n = n + sweep(o[1] .. ":" .. meth, f, obj, 2)
          -- junk as self, too
          n = n + sweep(o[1] .. ":" .. meth .. " (bad self)", f, nil, 1)
        end
      end
      assert.is_true(n > 10000)
    end)
  end)
end)

describe("bad files", function()
  it("load_parameters rejects a file with a tensor missing or of another shape, keeping the model", function()
    lunet.seed(5)
    local X = lunet.data.spiral(4, 3)
    local small, other = classifier(8), classifier(5)
    local p = path("small.safetensors")
    small:save_parameters(p)
    local before = other:predict(X)
    raises({ "Model:load_parameters", p }, other.load_parameters, other, p)
    assert.equal(0, maxdiff(before, other:predict(X)))
    -- one tensor missing
    local t = lunet.safetensors.load(p)
    local names = {}
    for k in pairs(t) do names[#names + 1] = k end
    table.sort(names)
    t[names[#names]] = nil
    local q = path("missing.safetensors")
    lunet.safetensors.save(q, t)
    local b2 = small:predict(X)
    raises({ "Model:load_parameters", q }, small.load_parameters, small, q)
    assert.equal(0, maxdiff(b2, small:predict(X)))
    small:load_parameters(p) -- and the right file still loads
  end)

  it("Model.load rejects a model file whose tensors do not fit its architecture", function()
    local m = classifier(8)
    local p = path("model.safetensors")
    m:save(p)
    local t, meta = lunet.safetensors.load(p)
    for k, v in pairs(t) do
      if k:find("weights") then t[k] = lunet.zeros(select(1, v:shape()) + 1, select(2, v:shape())); break end
    end
    local q = path("model_bad.safetensors")
    lunet.safetensors.save(q, t, meta)
    raises({ "lunet.Model.load", q }, lunet.Model.load, q)
    lunet.safetensors.save(q, t, { other = "x" })
    raises({ "lunet.Model.load", q }, lunet.Model.load, q)
  end)

  it("a failed Model:save leaves the earlier file intact", function()
    local m = classifier(8)
    local p = path("keep.safetensors")
    m:save(p)
    local bytes = readfile(p)
    raises({ "Model:save", "/nonexistent/dir/m.safetensors" }, m.save, m, "/nonexistent/dir/m.safetensors")
    local f = io.open("/dev/full", "wb")
    if f then
      f:close()
      local msg = errof(m.save_parameters, m, "/dev/full")
      assert(msg and msg:find("/dev/full", 1, true), tostring(msg))
    end
    assert.equal(bytes, readfile(p))
  end)

  it("safetensors: a tensor with an empty name is refused (fuzz regression: it loaded but could not be saved)",
    function()
      local json = '{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
      local p = writefile(path("empty_name.safetensors"), string.pack("<I8", #json) .. json .. string.pack("<f", 1.5))
      raises({ "lunet.safetensors.load", p, "empty name" }, lunet.safetensors.load, p)
      local q = path("fuzz_st_empty_name")
      local f = assert(io.open("fuzz/regress/st/empty-tensor-name", "rb"))
      writefile(q, f:read("a")); f:close()
      raises({ "lunet.safetensors.load", q, "empty name" }, lunet.safetensors.load, q)
    end)

  it("IDX: a lying gzip header is refused before any allocation", function()
    -- 00 00 08 03, 65535 x 65535 x 255 bytes claimed, a few bytes of gzip
    local raw = path("lie.idx")
    writefile(raw, "\0\0\8\3\0\0\255\255\0\0\255\255\0\0\0\255" .. string.rep("\0", 64))
    assert(os.execute("gzip -nf '" .. raw .. "'"))
    raises({ raw .. ".gz", "header declares" }, lunet.data.idx, raw .. ".gz")
  end)

  it("PNG: a header over the user limits is refused with the path", function()
    -- IHDR 20000 x 1, valid CRC: only the size limit can refuse it
    local function be32(n) return string.pack(">I4", n) end
    local function chunk(typ, data)
      -- CRC-32 of type .. data, bitwise
      local crc = 0xFFFFFFFF
      local s = typ .. data
      for i = 1, #s do
        crc = crc ~ s:byte(i)
        for _ = 1, 8 do crc = (crc & 1) ~= 0 and ((crc >> 1) ~ 0xEDB88320) or (crc >> 1) end
      end
      return be32(#data) .. s .. be32(crc ~ 0xFFFFFFFF)
    end
    local png = "\137PNG\r\n\26\n" .. chunk("IHDR", be32(20000) .. be32(1) .. "\8\0\0\0\0") ..
                chunk("IDAT", string.rep("\0", 64)) .. chunk("IEND", "")
    local p = writefile(path("wide.png"), png)
    raises({ "lunet.image.load", p }, lunet.image.load, p)
  end)
end)
