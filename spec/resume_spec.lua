--- Exact resume (issue 17, API.md "Interchange and embedding"): each Model
-- owns the generator of its dropout masks and shuffles, seeded from
-- lunet.seed's at the first finalize and saved with the model, so training,
-- saving, loading and training on equals training straight through, bit for bit.
local lunet = require "lunet"
local check = require "helpers.check"

local function build(conv)
  local m = lunet.Model()
  if conv then
    m:add(lunet.Input(1, 6, 6)); m:add(lunet.Conv2D(1, 3, 3, { padding = 1 })); m:add(lunet.BatchNormalization())
    m:add(lunet.ReLU()); m:add(lunet.MaxPool2D(2)); m:add(lunet.Flatten()); m:add(lunet.Dropout(0.2))
    m:add(lunet.Dense(27, 3))
  else
    m:add(lunet.Dense(2, 32)); m:add(lunet.ReLU()); m:add(lunet.Dropout(0.2)); m:add(lunet.Dense(32, 32))
    m:add(lunet.ReLU()); m:add(lunet.Dropout(0.1)); m:add(lunet.Dense(32, 3))
  end
  m:add(lunet.Softmax())
  m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.01, decay = 1e-3 },
          accuracy = lunet.CategoricalAccuracy() }
  m:finalize()
  return m
end

local function data(conv)
  lunet.seed(1)
  if conv then
    local X, y = lunet.randn(60, 1, 6, 6), lunet.zeros(60)
    for i = 1, 60 do y:set(i, (i % 3) + 1); X:set(i, 1, 1 + (i % 3) * 2, 3, 3) end
    return X, y
  end
  return lunet.data.spiral(40, 3)
end

local function params(m)
  local t = {}
  for _, ps in ipairs(m:get_parameters()) do
    for _, p in ipairs(ps) do t[#t + 1] = p:totable() end
  end
  return t
end

describe("exact resume", function()
  for _, conv in ipairs { false, true } do
    local what = conv and "a CNN with batch norm" or "an MLP"
    it("40 epochs, save, load, 40 more equal 80 epochs bit for bit with Dropout and shuffle: " .. what, function()
      local X, y = data(conv)
      local epochs = conv and 10 or 40
      local opts = { epochs = epochs, batch_size = 16, shuffle = true, verbose = 0 }
      lunet.seed(7)
      local a = build(conv)
      a:train(X, y, { epochs = 2 * epochs, batch_size = 16, shuffle = true, verbose = 0 })
      lunet.seed(7)
      local b = build(conv)
      b:train(X, y, opts)
      local path = check.tmpdir() .. "/resume.lunet"
      b:save(path)
      lunet.seed(12345) -- the global generator's state does not matter to the loaded model
      local c = lunet.Model.load(path)
      c:train(X, y, opts)
      assert.same(params(a), params(c))
      assert.same(a:predict(X):totable(), c:predict(X):totable())
      if conv then assert.same(a.layers[3].running_var:totable(), c.layers[3].running_var:totable()) end
      os.remove(path)
    end)
  end

  it("Model.load draws nothing from the global generator", function()
    local X, y = data(false)
    lunet.seed(7)
    local m = build(false)
    m:train(X, y, { epochs = 1, verbose = 0 })
    local path = check.tmpdir() .. "/draws.lunet"
    m:save(path)
    lunet.seed(99)
    local want = lunet.randn(3):totable()
    lunet.seed(99)
    lunet.Model.load(path)
    assert.same(want, lunet.randn(3):totable())
    os.remove(path)
  end)

  it("lunet.seed before building reproduces a run; model:seed(n) reseeds the model's own generator", function()
    local X, y = data(false)
    local runs = {}
    for r = 1, 2 do
      lunet.seed(21)
      local m = build(false)
      m:train(X, y, { epochs = 3, batch_size = 8, shuffle = true, verbose = 0 })
      runs[r] = params(m)
    end
    assert.same(runs[1], runs[2])
    -- the model's generator is its own: drawing from the global one between
    -- steps changes nothing, reseeding the model does
    local function with(reseed, noise)
      lunet.seed(21)
      local m = build(false)
      if reseed then m:seed(reseed) end
      m:train(X, y, { epochs = 1, batch_size = 8, shuffle = true, verbose = 0,
                      callbacks = { function() if noise then lunet.randn(5) end end } })
      m:train(X, y, { epochs = 2, batch_size = 8, shuffle = true, verbose = 0 })
      return params(m)
    end
    assert.same(runs[1], with(nil, true))
    assert.are_not.same(runs[1], with(5, false))
    assert.same(with(5, false), with(5, true))
    check.raises("Model:seed: ", lunet.Model().seed, lunet.Model(), "x")
  end)
end)
