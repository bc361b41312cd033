-- The REPL experience: `lua5.4 -l lunet -i` prints tensors like Torch7,
-- layers as "Dense(784 -> 128)", a model as its summary, and every object
-- kind has a readable tostring.
local lunet = require "lunet"

local LUA = os.getenv("LUA") or "lua5.4"

-- a POSIX shell single-quoted word
local function shq(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- run `lua -l lunet -i` on the given input lines (piped from a temp file)
-- with the module paths this spec run uses; returns everything printed
local function repl(lines)
  local input = os.tmpname()
  local f = assert(io.open(input, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  local cmd = string.format("LUA_PATH=%s LUA_CPATH=%s %s -l lunet -i < %s 2>&1",
    shq("./lua/?.lua;./lua/?/init.lua;" .. package.path), shq(package.cpath), LUA, shq(input))
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  os.remove(input)
  return out
end

-- assert that s contains sub (plain text)
local function has(s, sub)
  assert(s:find(sub, 1, true), "expected to find:\n" .. sub .. "\nin:\n" .. s)
end

describe("the REPL (lua5.4 -l lunet -i)", function()
  local out

  setup(function()
    out = repl {
      "t = lunet.tensor{{1,2},{3,4}}",
      "t",
      "lunet.Dense(784, 128)",
      "m = lunet.Model()",
      "m:add(lunet.Dense(784, 128)); m:add(lunet.ReLU()); m:add(lunet.Dense(128, 10)); m:add(lunet.Softmax())",
      "m:set{ loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam{ decay = 1e-3 }, "
        .. "accuracy = lunet.CategoricalAccuracy() }",
      "m:finalize()",
      "print('--- model')",
      "m",
      "print('--- summary')",
      "m:summary()",
      "print('--- big')",
      "lunet.zeros(100, 100)",
      "print('--- end')",
    }
  end)

  it("starts with lunet loaded as a global", function()
    has(out, "Lua 5.4")
    assert.is_nil(out:find("module 'lunet' not found", 1, true), out)
    assert.is_nil(out:find("stdin:", 1, true), "an input line raised an error:\n" .. out)
  end)

  it("prints a tensor's values, then its type and shape", function()
    has(out, "> t\n 1 2\n 3 4\n[lunet.Tensor of size 2x2]\n")
  end)

  it("prints a layer as its kind and sizes", function()
    has(out, "> lunet.Dense(784, 128)\nDense(784 -> 128)\n")
  end)

  it("prints a model as its summary table", function()
    local model = out:match("%-%-%- model\n(.-)%-%-%- summary")
    assert.is_string(model)
    has(model, "Model: lunet.Model\n")
    has(model, "Layer (type)")
    has(model, "Output Shape")
    has(model, "Param #")
    assert.matches("1 Dense%(784 %-> 128%)%s+%(None, 128%)%s+100480\n", model)
    assert.matches("2 ReLU%s+%(None, 128%)%s+0\n", model)
    assert.matches("3 Dense%(128 %-> 10%)%s+%(None, 10%)%s+1290\n", model)
    assert.matches("4 Softmax%s+%(None, 10%)%s+0\n", model)
    has(model, "Total params: 101770\n")
    has(model, "Trainable params: 101770\n")
    has(model, "Non-trainable params: 0\n")
    has(model, "Loss: CategoricalCrossentropy()\n")
    has(model, "Optimizer: Adam(learning_rate=0.001, decay=0.001, epsilon=1e-07, beta_1=0.9, beta_2=0.999)\n")
    has(model, "Accuracy: CategoricalAccuracy(binary=false)\n")
  end)

  it("prints Keras' table for model:summary()", function()
    local model = out:match("%-%-%- model\n> m\n(.-)> print")
    local summary = out:match("%-%-%- summary\n> m:summary%(%)\n(.-)> print")
    assert.is_string(summary)
    assert.equal(model, summary)
    local lines = {}
    for l in summary:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("Model: lunet.Model", lines[1])
    assert.matches("^_+$", lines[2])
    assert.matches("^Layer %(type%)%s+Output Shape%s+Param #$", lines[3])
    assert.matches("^=+$", lines[4])
    assert.matches("^=+$", lines[9])
    assert.equal(#lines[2], #lines[3])
  end)

  it("abbreviates large tensors", function()
    local big = out:match("%-%-%- big\n(.-)> print")
    assert.is_string(big)
    has(big, " 0 0 0 ... 0 0 0\n")
    has(big, " ...\n")
    has(big, "[lunet.Tensor of size 100x100]\n")
    local n = 0
    for _ in big:gmatch("\n") do n = n + 1 end
    assert.is_true(n < 12, "expected an abbreviated print, got " .. n .. " lines")
  end)
end)

describe("tostring", function()
  describe("tensors", function()
    it("shows values and the shape", function()
      assert.equal("  1.5000\n  2.0000\n -3.0000\n[lunet.Tensor of size 3]", tostring(lunet.tensor { 1.5, 2, -3 }))
      assert.equal(" 1.0000e-05 1.0000e+06\n[lunet.Tensor of size 1x2]", tostring(lunet.tensor { { 1e-5, 1e6 } }))
      assert.equal("  nan\n  inf\n -inf\n    1\n[lunet.Tensor of size 4]",
        tostring(lunet.tensor { 0 / 0, 1 / 0, -1 / 0, 1 }))
      assert.equal("(1,.,.) = \n 0 0\n 0 0\n\n(2,.,.) = \n 0 0\n 0 0\n\n[lunet.Tensor of size 2x2x2]",
        tostring(lunet.zeros(2, 2, 2)))
    end)
  end)

  describe("layers and activations", function()
    it("show their kind and sizes", function()
      assert.equal("Dense(2 -> 3)", tostring(lunet.Dense(2, 3)))
      assert.equal("Dense(784 -> 128)", tostring(lunet.Dense(784, 128, { weight_regularizer_l2 = 5e-4 })))
      assert.equal("Dropout(0.1)", tostring(lunet.Dropout(0.1)))
      assert.equal("Input", tostring(lunet.Input()))
      assert.equal("ReLU", tostring(lunet.ReLU()))
      assert.equal("Sigmoid", tostring(lunet.Sigmoid()))
      assert.equal("Softmax", tostring(lunet.Softmax()))
      assert.equal("Linear", tostring(lunet.Linear()))
    end)
  end)

  describe("losses", function()
    it("show their class", function()
      assert.equal("CategoricalCrossentropy()", tostring(lunet.CategoricalCrossentropy()))
      assert.equal("BinaryCrossentropy()", tostring(lunet.BinaryCrossentropy()))
      assert.equal("MeanSquaredError()", tostring(lunet.MeanSquaredError()))
      assert.equal("MeanAbsoluteError()", tostring(lunet.MeanAbsoluteError()))
      assert.equal("SoftmaxCategoricalCrossentropy()", tostring(lunet.SoftmaxCategoricalCrossentropy()))
    end)
  end)

  describe("optimizers", function()
    it("show their hyperparameters", function()
      assert.equal("SGD(learning_rate=1, decay=0, momentum=0)", tostring(lunet.SGD()))
      assert.equal("SGD(learning_rate=0.5, decay=0.001, momentum=0.9)",
        tostring(lunet.SGD { learning_rate = 0.5, decay = 1e-3, momentum = 0.9 }))
      assert.equal("Adagrad(learning_rate=1, decay=0, epsilon=1e-07)", tostring(lunet.Adagrad()))
      assert.equal("RMSprop(learning_rate=0.001, decay=0, epsilon=1e-07, rho=0.95)",
        tostring(lunet.RMSprop { rho = 0.95 }))
      assert.equal("Adam(learning_rate=0.001, decay=0, epsilon=1e-07, beta_1=0.9, beta_2=0.999)",
        tostring(lunet.Adam()))
      assert.equal("Adam(learning_rate=0.05, decay=5e-07, epsilon=1e-07, beta_1=0.9, beta_2=0.999)",
        tostring(lunet.Adam { learning_rate = 0.05, decay = 5e-7 }))
    end)
  end)

  describe("accuracies", function()
    it("show their settings", function()
      assert.equal("CategoricalAccuracy(binary=false)", tostring(lunet.CategoricalAccuracy()))
      assert.equal("CategoricalAccuracy(binary=true)", tostring(lunet.CategoricalAccuracy { binary = true }))
      local r = lunet.RegressionAccuracy()
      assert.equal("RegressionAccuracy(precision=nil)", tostring(r))
      r:init(lunet.tensor { 1, 2, 3, 4 }) -- std 1.118..., / 250
      assert.equal("RegressionAccuracy(precision=0.00447213595499958)", tostring(r))
    end)
  end)

  describe("callbacks", function()
    it("show their options", function()
      local cb = lunet.callbacks
      assert.equal("EarlyStopping(monitor=val_loss, mode=min, patience=3, min_delta=0)",
        tostring(cb.EarlyStopping { patience = 3 }))
      assert.equal("EarlyStopping(monitor=accuracy, mode=max, patience=0, min_delta=0.01)",
        tostring(cb.EarlyStopping { monitor = "accuracy", min_delta = 0.01 }))
      assert.equal("ModelCheckpoint(path=m.safetensors, monitor=val_loss, mode=min, save_best_only=true)",
        tostring(cb.ModelCheckpoint { path = "m.safetensors", save_best_only = true }))
      assert.equal('CSVLogger(path=log.csv, separator=",", append=false)', tostring(cb.CSVLogger { path = "log.csv" }))
      assert.equal("lunet.callbacks.EarlyStopping", tostring(cb.EarlyStopping))
    end)
  end)

  describe("the module", function()
    it("names Model and prints config() readably", function()
      assert.equal("lunet.Model", tostring(lunet.Model))
      local c = tostring(lunet.config())
      local version = lunet.version:gsub("%.", "%%.")
      assert.matches("^{ blas = .+, cflags = .+, threads = %d+, version = " .. version .. " }$", c)
    end)
  end)
end)
