-- Lua layers inside a Model (API.md, "One engine for every layer"): any
-- table with forward/backward runs between the C layers, a trainable one is
-- updated by every optimizer, and register_layer makes it saveable.
local lunet = require "lunet"
local check = require "helpers.check"

local function tmpfile()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".safetensors"
end

local function same(a, b) return (a - b):abs():max() == 0 end

-- ReLU written in Lua: the same numbers as lunet.ReLU
local LuaReLU = {}
LuaReLU.__index = LuaReLU
function LuaReLU.new() return setmetatable({}, LuaReLU) end
function LuaReLU:forward(x)
  self.inputs = x
  self.output = x:maximum(0)
  return self.output
end
function LuaReLU:backward(dv)
  self.dinputs = dv * self.inputs:gt(0)
  return self.dinputs
end

-- a trainable per-feature scale: y = x * s (s a 1 x n row)
local Scale = { saved = { "n" } }
Scale.__index = Scale
function Scale.new(n)
  local self = setmetatable({ n = n }, Scale)
  self.s = lunet.ones(1, n)
  self.ds = lunet.zeros(1, n)
  self.params, self.grads = { self.s }, { self.ds }
  return self
end
function Scale.load(fields) return Scale.new(fields.n) end
function Scale:forward(x)
  self.inputs = x
  return x * self.s
end
function Scale:backward(dv)
  self.ds:copy_((dv * self.inputs):sum(1))
  return dv * self.s
end

-- Dense written in Lua, with weights and biases as params
local LuaDense = {}
LuaDense.__index = LuaDense
function LuaDense.new(w, b)
  local self = setmetatable({ w = w:clone(), b = b:clone() }, LuaDense)
  self.dw, self.db = lunet.zeros(w:shape()), lunet.zeros(b:shape())
  self.params, self.grads = { self.w, self.b }, { self.dw, self.db }
  return self
end
function LuaDense:forward(x) self.inputs = x; return lunet.dot(x, self.w) + self.b end
function LuaDense:backward(dv)
  self.dw:copy_(lunet.dot(self.inputs:t(), dv))
  self.db:copy_(dv:sum(1))
  return lunet.dot(dv, self.w:t())
end

local function classifier(middle)
  lunet.seed(3)
  local m = lunet.Model()
  m:add(lunet.Dense(2, 32))
  m:add(middle)
  m:add(lunet.Dense(32, 3))
  m:add(lunet.Softmax())
  m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.02 },
          accuracy = lunet.CategoricalAccuracy() }
  return m:finalize()
end

describe("Lua layers in a Model", function()
  local X, y
  before_each(function()
    lunet.seed(1)
    X, y = lunet.data.spiral(100, 3)
  end)

  it("a ReLU written in Lua trains exactly as lunet.ReLU, on 1 and 2 threads", function()
    for _, threads in ipairs { 1, 2 } do
      lunet.set_threads(threads)
      local a, b = classifier(lunet.ReLU()), classifier(LuaReLU.new())
      local ha = a:train(X, y, { epochs = 3, batch_size = 32, shuffle = false, verbose = 0 })
      local hb = b:train(X, y, { epochs = 3, batch_size = 32, shuffle = false, verbose = 0 })
      assert.same(ha.loss, hb.loss)
      assert.same(ha.accuracy, hb.accuracy)
      local pa, pb = a:get_parameters(), b:get_parameters()
      for i = 1, #pa do for j = 1, 2 do assert.is_true(same(pa[i][j], pb[i][j])) end end
      assert.is_true(same(a:predict(X), b:predict(X)))
    end
    lunet.set_threads(2)
  end)

  it("a trainable Lua layer is updated, listed by get_parameters and set by set_parameters", function()
    local sc = Scale.new(32)
    local m = classifier(sc)
    assert.equal(3, #m.trainable_layers)
    local h = m:train(X, y, { epochs = 30, batch_size = 50, verbose = 0 })
    assert.is_true(h.loss[30] < h.loss[1])
    assert.is_false(same(sc.s, lunet.ones(1, 32)))
    local p = m:get_parameters()
    assert.equal(1, #p[2])
    assert.equal(sc.s, p[2][1])
    p[2] = { lunet.full(2, 1, 32) }
    m:set_parameters(p)
    assert.is_true(same(sc.s, lunet.full(2, 1, 32)))
    check.error_has("Model:set_parameters: entry 2: params[1] is 1x3, the layer has 1x32", m.set_parameters, m,
      { p[1], { lunet.ones(1, 3) }, p[3] })
    assert.matches("Lua layer", m:summary_string(), 1, true)
  end)

  it("every optimizer updates Lua params exactly as a Dense's weights and biases, state per parameter", function()
    local opts = {
      function() return lunet.SGD { learning_rate = 0.1 } end,
      function() return lunet.SGD { learning_rate = 0.1, momentum = 0.9, decay = 0.01 } end,
      function() return lunet.Adagrad { learning_rate = 0.1 } end,
      function() return lunet.RMSprop { learning_rate = 0.01, rho = 0.8 } end,
      function() return lunet.Adam { learning_rate = 0.01, decay = 0.1 } end,
    }
    for _, make in ipairs(opts) do
      lunet.seed(2)
      local d = lunet.Dense(4, 3)
      local l = LuaDense.new(d.weights, d.biases)
      local o1, o2 = make(), make()
      for _ = 1, 3 do
        d:forward(lunet.randn(5, 4))
        d:backward(lunet.randn(5, 3))
        l.dw:copy_(d.dweights); l.db:copy_(d.dbiases)
        o1:pre_update_params(); o1:update_params(d); o1:post_update_params()
        o2:pre_update_params(); o2:update_params(l); o2:post_update_params()
      end
      assert.is_true(same(d.weights, l.w), tostring(o1))
      assert.is_true(same(d.biases, l.b), tostring(o1))
      local s1, s2 = o1:state(d), o2:state(l)
      if s1 then
        if s1.weight_momentums then
          assert.is_true(same(s1.weight_momentums, s2.momentums[1]))
          assert.is_true(same(s1.bias_momentums, s2.momentums[2]))
        end
        if s1.weight_cache then
          assert.is_true(same(s1.weight_cache, s2.cache[1]))
          assert.is_true(same(s1.bias_cache, s2.cache[2]))
        end
      else
        assert.is_nil(s2)
      end
    end
  end)

  it("SGD on a Lua parameter, by hand", function()
    local sc = Scale.new(2)
    sc.ds:copy_(lunet.tensor { { 1, -2 } })
    local o = lunet.SGD { learning_rate = 0.5, momentum = 0.5 }
    o:pre_update_params(); o:update_params(sc); o:post_update_params()
    check.close(sc.s, { { 0.5, 2 } }, 0)                -- m = -0.5 g; s += m
    o:pre_update_params(); o:update_params(sc); o:post_update_params()
    check.close(sc.s, { { -0.25, 3.5 } }, 0)            -- m = 0.5 m - 0.5 g
    check.close(o:state(sc).momentums[1], { { -0.75, 1.5 } }, 0)
    check.error_has("SGD:set_state: momentums[1] is 1x3 but params[1] is 1x2", o.set_state, o, sc,
      { momentums = { lunet.zeros(1, 3) } })
    check.error_has("unexpected key 'cache'", o.set_state, o, sc, { cache = { lunet.zeros(1, 2) } })
    o:set_state(sc, { momentums = { lunet.zeros(1, 2) } })
    check.close(o:state(sc).momentums[1], { { 0, 0 } }, 0)
  end)

  it("saves and loads through register_layer; training resumes bit for bit", function()
    lunet.register_layer("spec.Scale", Scale)
    local function build()
      lunet.seed(4)
      local m = lunet.Model()
      m:add(lunet.Dense(2, 16)); m:add(Scale.new(16)); m:add(lunet.ReLU()); m:add(lunet.Dense(16, 3))
      m:add(lunet.Softmax())
      m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.02 },
              accuracy = lunet.CategoricalAccuracy() }
      return m:finalize()
    end
    local a = build()
    a:train(X, y, { epochs = 2, batch_size = 64, verbose = 0 })
    local path = tmpfile()
    a:save(path)
    local b = lunet.Model.load(path)
    os.remove(path)
    assert.is_true(same(a:predict(X), b:predict(X)))
    assert.matches("Lua layer spec.Scale", b:summary_string(), 1, true)
    local ha = a:train(X, y, { epochs = 2, batch_size = 64, verbose = 0 })
    local hb = b:train(X, y, { epochs = 2, batch_size = 64, verbose = 0 })
    assert.same(ha.loss, hb.loss)
    assert.is_true(same(a.layers[2].s, b.layers[2].s))
    assert.is_true(same(a:predict(X), b:predict(X)))
  end)

  it("raises clearly", function()
    local m = lunet.Model()
    check.error_has("or a Lua layer (a table with forward and backward methods), got table", m.add, m,
      { forward = function() end })
    local l = LuaReLU.new()
    m:add(lunet.Dense(2, 3)); m:add(l)
    check.error_has("Model:add: layer 3 (Lua layer) is the object already at layer 2", m.add, m, l)
    local bad = { forward = function() return nil end, backward = function(_, dv) return dv end }
    local m2 = lunet.Model()
    m2:add(lunet.Dense(2, 3)); m2:add(bad); m2:finalize()
    check.error_has("Model:predict: layer 2 (Lua layer): forward must return a lunet.Tensor, got nil", m2.predict, m2,
      X)
    local boom = { forward = function() error("boom", 0) end, backward = function(_, dv) return dv end }
    local m3 = lunet.Model()
    m3:add(lunet.Dense(2, 3)); m3:add(boom); m3:finalize()
    check.error_has("Model:predict: layer 2 (Lua layer): forward: boom", m3.predict, m3, X)
    local unreg = classifier(LuaReLU.new())
    check.error_has("Model:save: layer 2 is a Lua layer whose class is not registered", unreg.save, unreg, tmpfile())
    check.error_has("lunet.register_layer: 'ReLU' is the name of a built-in layer", lunet.register_layer, "ReLU",
      LuaReLU)
    check.error_has("has no load function", lunet.register_layer, "spec.NoLoad", LuaReLU)
    check.error_has("may hold only letters", lunet.register_layer, "a b", Scale)
  end)

  it("Model.load names an unregistered class", function()
    lunet.register_layer("spec.Scale", Scale)
    local m = classifier(Scale.new(32))
    local path = tmpfile()
    m:save(path)
    local tensors, meta = lunet.safetensors.load(path)
    meta["lunet.model"] = meta["lunet.model"]:gsub("spec%.Scale", "spec.Never")
    lunet.safetensors.save(path, tensors, meta)
    check.error_has("lunet.Model.load: " .. path .. ": layer 2 is a Lua layer of class 'spec.Never', which is not "
      .. "registered", lunet.Model.load, path)
    os.remove(path)
  end)
end)
