--- save_parameters / load_parameters with { layout = "torch" } (issue 17):
-- PyTorch's state_dict names and shapes, checked here without PyTorch
-- (test/torch_layout.py checks them against torch.nn in CI).
local lunet = require "lunet"
local check = require "helpers.check"

local function model()
  local m = lunet.Model()
  m:add(lunet.Input(1, 6, 6)); m:add(lunet.Conv2D(1, 2, 3)); m:add(lunet.BatchNormalization()); m:add(lunet.ReLU())
  m:add(lunet.Flatten()); m:add(lunet.Dense(32, 4)); m:add(lunet.Softmax())
  m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
  m:finalize()
  return m
end

describe("the torch layout", function()
  it("names module i-1 (Input left out) with PyTorch's shapes: Linear weights out x in, 1-D biases, I64 count",
     function()
    lunet.seed(1)
    local m = model()
    m:train(lunet.randn(8, 1, 6, 6), lunet.zeros(8) + 2, { epochs = 1, verbose = 0 })
    local path = check.tmpdir() .. "/t.safetensors"
    m:save_parameters(path, { layout = "torch" })
    local t = lunet.safetensors.load(path)
    assert.same({ 2, 1, 3, 3 }, { t["0.weight"]:shape() })
    assert.same({ 2 }, { t["0.bias"]:shape() })
    assert.same({ 2 }, { t["1.running_var"]:shape() })
    assert.equal(1, t["1.num_batches_tracked"])
    assert.same({ 4, 32 }, { t["4.weight"]:shape() })
    check.close(t["4.weight"], m.layers[6].weights:t(), 0)
    check.close(t["0.weight"], m.layers[2].weights, 0)
    -- and back into a fresh model
    lunet.seed(2)
    local m2 = model()
    m2:load_parameters(path, { layout = "torch" })
    local X = lunet.randn(3, 1, 6, 6)
    assert.same(m:predict(X):totable(), m2:predict(X):totable())
    assert.equal(1, m2.layers[3].num_batches_tracked)
    os.remove(path)
  end)

  it("checks everything before changing anything, and names what is wrong", function()
    local m = model()
    local dir = check.tmpdir()
    m:save_parameters(dir .. "/ok.safetensors", { layout = "torch" })
    local t = lunet.safetensors.load(dir .. "/ok.safetensors")
    t["4.weight"] = lunet.zeros(32, 4)
    lunet.safetensors.save(dir .. "/bad.safetensors", t)
    local before = m.layers[2].weights:clone()
    check.raises({ "Model:load_parameters", "tensor '4.weight' is 32x4, the model needs 4x32" }, m.load_parameters, m,
                 dir .. "/bad.safetensors", { layout = "torch" })
    assert.same(before:totable(), m.layers[2].weights:totable())
    t["4.weight"] = nil
    lunet.safetensors.save(dir .. "/miss.safetensors", t)
    check.raises("tensor '4.weight' is missing", m.load_parameters, m, dir .. "/miss.safetensors", { layout = "torch" })
    check.raises("option 'layout' must be \"lunet\" or \"torch\"", m.save_parameters, m, dir .. "/x", { layout = "tf" })
    check.raises("unknown option 'format'", m.save_parameters, m, dir .. "/x", { format = "torch" })
    local ml = lunet.Model()
    local scale = { params = { lunet.ones(1, 2) }, grads = { lunet.zeros(1, 2) } }
    function scale.forward(_, x) return x end
    function scale.backward(_, d) return d end
    ml:add(lunet.Dense(2, 2)); ml:add(scale); ml:finalize()
    check.raises("layer 2 (Lua layer) has parameters but no PyTorch module", ml.save_parameters, ml, dir .. "/x",
                 { layout = "torch" })
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
