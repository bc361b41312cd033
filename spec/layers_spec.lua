-- Specs of lunet.Dense, lunet.Dropout and lunet.Input (src/layers.c).
local lunet = require "lunet"
local check = require "helpers.check"
local assert_close, assert_error_has, numgrad = check.close, check.error_has, check.numgrad

-- a randn matrix whose entries are at least 0.1 away from 0 (so an L1
-- term's kink is never crossed by a finite-difference step)
local function randn_away(rows, cols)
  local t = lunet.randn(rows, cols)
  for i = 1, rows do
    for j = 1, cols do
      local v = t:get(i, j)
      if math.abs(v) < 0.1 then t:set(i, j, v < 0 and v - 0.1 or v + 0.1) end
    end
  end
  return t
end

describe("lunet.Dense", function()
  describe("lunet.Dense()", function()
    it("initialises weights as 0.01 * randn and biases as zeros", function()
      lunet.seed(0)
      local d = lunet.Dense(3, 4)
      lunet.seed(0)
      local w = lunet.randn(3, 4) * 0.01
      assert.same({3, 4}, {d.weights:shape()})
      assert.same({1, 4}, {d.biases:shape()})
      assert.same(w:totable(), d.weights:totable())
      assert.same({{0, 0, 0, 0}}, d.biases:totable())
    end)

    it("is reproducible after lunet.seed", function()
      lunet.seed(42)
      local a = lunet.Dense(5, 7).weights:totable()
      lunet.seed(42)
      local b = lunet.Dense(5, 7).weights:totable()
      assert.same(a, b)
    end)

    it("draws weights with a standard deviation of about 0.01", function()
      lunet.seed(7)
      local w = lunet.Dense(200, 100).weights
      assert.is_true(math.abs(w:std() - 0.01) < 0.0003)
      assert.is_true(math.abs(w:mean()) < 0.0003)
    end)

    it("exposes sizes and regularizers as fields", function()
      local d = lunet.Dense(2, 3, { weight_regularizer_l1 = 0.1, weight_regularizer_l2 = 0.2,
                                    bias_regularizer_l1 = 0.3, bias_regularizer_l2 = 0.4 })
      assert.are.equal(2, d.n_inputs)
      assert.are.equal(3, d.n_neurons)
      assert.are.equal(0.1, d.weight_regularizer_l1)
      assert.are.equal(0.2, d.weight_regularizer_l2)
      assert.are.equal(0.3, d.bias_regularizer_l1)
      assert.are.equal(0.4, d.bias_regularizer_l2)
      local e = lunet.Dense(2, 3)
      assert.are.equal(0, e.weight_regularizer_l1)
      assert.are.equal(0, e.bias_regularizer_l2)
      assert.is_nil(e.output)
      assert.is_nil(e.dinputs)
      assert.is_nil(e.inputs)
      assert.is_nil(e.dweights)
      assert.is_nil(e.no_such_field)
    end)

    it("rejects bad sizes", function()
      assert_error_has("lunet.Dense: argument 1 (n_inputs) must be a positive integer, got 0", lunet.Dense, 0, 3)
      assert_error_has("lunet.Dense: argument 2 (n_neurons) must be a positive integer, got -2", lunet.Dense, 2, -2)
      assert_error_has("lunet.Dense: argument 1 (n_inputs) must be a positive integer, got 2.5", lunet.Dense, 2.5, 3)
      assert_error_has("lunet.Dense: argument 2 (n_neurons) must be a positive integer, got string",
                       lunet.Dense, 2, "x")
      assert_error_has("lunet.Dense: argument 1 (n_inputs) must be a positive integer, got no value", lunet.Dense)
      assert_error_has("lunet.Dense: 1099511627776 x 2 weights are too many", lunet.Dense, 2 ^ 40, 2)
      assert_error_has("lunet.Dense: argument 1 (n_inputs) is too large", lunet.Dense, math.maxinteger, 2)
      assert_error_has("lunet.Dense: argument 2 (n_neurons) must be a positive integer, got nan", lunet.Dense, 2, 0 / 0)
    end)

    it("rejects bad regularizers and unknown options", function()
      assert_error_has("lunet.Dense: option 'weight_regularizer_l1' must be a finite number >= 0, got -1",
                       lunet.Dense, 2, 3, { weight_regularizer_l1 = -1 })
      assert_error_has("lunet.Dense: option 'bias_regularizer_l2' must be a finite number >= 0, got inf",
                       lunet.Dense, 2, 3, { bias_regularizer_l2 = math.huge })
      assert_error_has("lunet.Dense: option 'weight_regularizer_l2' is NaN",
                       lunet.Dense, 2, 3, { weight_regularizer_l2 = 0 / 0 })
      assert_error_has("lunet.Dense: option 'bias_regularizer_l1' must be a number, got string",
                       lunet.Dense, 2, 3, { bias_regularizer_l1 = "big" })
      assert_error_has("lunet.Dense: unknown option 'weight_regularizer'", lunet.Dense, 2, 3,
                       { weight_regularizer = 1 })
      assert_error_has("lunet.Dense: options must be a table, got number", lunet.Dense, 2, 3, 5)
    end)
  end)

  describe("tostring()", function()
    it("describes the layer", function()
      assert.are.equal("Dense(784 -> 128)", tostring(lunet.Dense(784, 128)))
    end)
  end)

  describe("forward()", function()
    it("computes inputs @ weights + biases", function()
      local d = lunet.Dense(2, 3)
      d:set_parameters(lunet.tensor{{1, 2, 3}, {4, 5, 6}}, lunet.tensor{{0.5, -1, 2}})
      local x = lunet.tensor{{1, 1}, {2, -1}}
      local out = d:forward(x)
      assert_close(out, {{5.5, 6, 11}, {-1.5, -2, 2}}, 1e-6)
      assert.are.equal(out, d.output)
      assert.are.equal(x, d.inputs)
    end)

    it("reuses its output buffer for the same batch size", function()
      local d = lunet.Dense(3, 2)
      local a = d:forward(lunet.randn(4, 3))
      local b = d:forward(lunet.randn(4, 3))
      assert.are.equal(a, b)
      d:backward(lunet.ones(4, 2))
      local dw, db, di = d.dweights, d.dbiases, d.dinputs
      d:forward(lunet.randn(4, 3))
      d:backward(lunet.ones(4, 2))
      assert.are.equal(dw, d.dweights)
      assert.are.equal(db, d.dbiases)
      assert.are.equal(di, d.dinputs)
    end)

    it("follows the batch size when it changes", function()
      local d = lunet.Dense(3, 2)
      assert.same({4, 2}, {d:forward(lunet.randn(4, 3)):shape()})
      assert.same({1, 2}, {d:forward(lunet.randn(1, 3)):shape()})
      assert.same({9, 2}, {d:forward(lunet.randn(9, 3)):shape()})
    end)

    it("gives correct values when fed its own output", function()
      local d = lunet.Dense(2, 2)
      d:set_parameters(lunet.tensor{{1, 2}, {3, 4}}, lunet.tensor{{0, 0}})
      d:forward(lunet.tensor{{1, 0}})
      assert_close(d:forward(d.output), {{7, 10}}, 1e-6)
    end)

    it("rejects inputs of the wrong shape or type", function()
      local d = lunet.Dense(2, 64)
      assert_error_has("Dense:forward: inputs are 5x3, expected 2 columns (Dense(2 -> 64))",
                       d.forward, d, lunet.ones(5, 3))
      assert_error_has("Dense:forward: inputs are 4, expected a 2-D tensor with 2 columns (Dense(2 -> 64))",
                       d.forward, d, lunet.ones(4))
      assert_error_has("Dense:forward: argument 1 (inputs) must be a lunet.Tensor, got table",
                       d.forward, d, {{1, 2}})
      assert_error_has("Dense:forward: argument 2 (training) must be a boolean or nil, got number",
                       d.forward, d, lunet.ones(1, 2), 1)
      assert_error_has("Dense:forward: self must be a lunet.Dense, got lunet.Tensor: call the method with ':' " ..
        "(obj:forward(...)), not '.'",
                       d.forward, lunet.ones(1, 2), lunet.ones(1, 2))
    end)
  end)

  describe("backward()", function()
    it("computes the book's gradients by hand", function()
      local d = lunet.Dense(2, 3)
      d:set_parameters(lunet.tensor{{1, 2, 3}, {4, 5, 6}}, lunet.tensor{{0.5, -1, 2}})
      d:forward(lunet.tensor{{1, 1}, {2, -1}})
      local din = d:backward(lunet.tensor{{1, 0, 1}, {0, 1, 0}})
      assert_close(d.dweights, {{1, 2, 1}, {1, -1, 1}}, 1e-6)
      assert_close(d.dbiases, {{1, 1, 1}}, 1e-6)
      assert_close(din, {{4, 10}, {2, 5}}, 1e-6)
      assert.are.equal(din, d.dinputs)
    end)

    it("matches naive sums for wide layers (forward, transposed products, every tile edge)", function()
      lunet.seed(5)
      for _, shape in ipairs{{37, 70, 13}, {130, 33, 7}, {20, 10, 64}, {300, 40, 9}} do
        local n_in, n_out, rows = shape[1], shape[2], shape[3]
        local d = lunet.Dense(n_in, n_out)
        local x, dv = lunet.randn(rows, n_in), lunet.randn(rows, n_out)
        d:forward(x)
        d:backward(dv)
        local xt, dvt, wt = x:totable(), dv:totable(), d.weights:totable()
        local dw, di, out, bt = d.dweights:totable(), d.dinputs:totable(), d.output:totable(), d.biases:totable()
        for r = 1, rows do
          for j = 1, n_out do -- output = inputs weights + biases (two halves of the sum from 256 inputs)
            local sum = bt[1][j]
            for i = 1, n_in do sum = sum + xt[r][i] * wt[i][j] end
            assert.is_near(sum, out[r][j], 1e-4 * (1 + math.abs(sum)))
          end
        end
        for i = 1, n_in do
          for j = 1, n_out do -- dweights = inputs^T dvalues
            local sum = 0
            for r = 1, rows do sum = sum + xt[r][i] * dvt[r][j] end
            assert.is_near(sum, dw[i][j], 1e-4 * (1 + math.abs(sum)))
          end
        end
        for r = 1, rows do
          for i = 1, n_in do -- dinputs = dvalues weights^T
            local sum = 0
            for j = 1, n_out do sum = sum + dvt[r][j] * wt[i][j] end
            assert.is_near(sum, di[r][i], 1e-4 * (1 + math.abs(sum)))
          end
        end
      end
    end)

    it("adds the regularizers' gradients (sign(0) = +1 for L1)", function()
      local d = lunet.Dense(2, 3, { weight_regularizer_l1 = 0.1, weight_regularizer_l2 = 0.5,
                                    bias_regularizer_l1 = 0.25, bias_regularizer_l2 = 1 })
      d:set_parameters(lunet.tensor{{1, -2, 3}, {4, 5, 0}}, lunet.tensor{{0.5, -1, 0}})
      d:forward(lunet.tensor{{1, 1}, {2, -1}})
      d:backward(lunet.tensor{{1, 0, 1}, {0, 1, 0}})
      -- plain {{1, 2, 1}, {1, -1, 1}} + 0.1 * sign(w) + 2 * 0.5 * w
      assert_close(d.dweights, {{1 + 0.1 + 1, 2 - 0.1 - 2, 1 + 0.1 + 3},
                                {1 + 0.1 + 4, -1 + 0.1 + 5, 1 + 0.1 + 0}}, 1e-6)
      -- plain {1, 1, 1} + 0.25 * sign(b) + 2 * 1 * b
      assert_close(d.dbiases, {{1 + 0.25 + 1, 1 - 0.25 - 2, 1 + 0.25 + 0}}, 1e-6)
    end)

    local function gradcheck(opts)
      lunet.seed(3)
      local d = lunet.Dense(4, 3, opts)
      d:set_parameters(randn_away(4, 3), randn_away(1, 3))
      local x, R = lunet.randn(5, 4), lunet.randn(5, 3)
      opts = opts or {}
      local function f()
        local out = d:forward(x)
        local w, b = d.weights, d.biases
        local reg = 0
        reg = reg + (opts.weight_regularizer_l1 or 0) * w:abs():sum()
        reg = reg + (opts.weight_regularizer_l2 or 0) * (w * w):sum()
        reg = reg + (opts.bias_regularizer_l1 or 0) * b:abs():sum()
        reg = reg + (opts.bias_regularizer_l2 or 0) * (b * b):sum()
        return (out * R):sum() + reg
      end
      d:forward(x)
      d:backward(R)
      local din, dw, db = d.dinputs:clone(), d.dweights:clone(), d.dbiases:clone()
      local h, tol = 1e-2, 2e-3
      assert_close(din, numgrad(f, x, h), tol)
      assert_close(dw, numgrad(f, d.weights, h), tol)
      assert_close(db, numgrad(f, d.biases, h), tol)
    end

    it("matches finite differences without regularization", function() gradcheck(nil) end)
    it("matches finite differences with weight_regularizer_l1", function()
      gradcheck{ weight_regularizer_l1 = 0.3 }
    end)
    it("matches finite differences with weight_regularizer_l2", function()
      gradcheck{ weight_regularizer_l2 = 0.3 }
    end)
    it("matches finite differences with bias_regularizer_l1", function()
      gradcheck{ bias_regularizer_l1 = 0.3 }
    end)
    it("matches finite differences with bias_regularizer_l2", function()
      gradcheck{ bias_regularizer_l2 = 0.3 }
    end)

    it("rejects dvalues of the wrong shape", function()
      local d = lunet.Dense(2, 3)
      d:forward(lunet.ones(4, 2))
      assert_error_has("Dense:backward: dvalues are 4x2, expected 4x3 (the last forward's output shape)",
                       d.backward, d, lunet.ones(4, 2))
      assert_error_has("Dense:backward: dvalues are 5x3, expected 4x3", d.backward, d, lunet.ones(5, 3))
      assert_error_has("Dense:backward: dvalues are 12, expected 4x3", d.backward, d, lunet.ones(12))
      assert_error_has("Dense:backward: argument 1 (dvalues) must be a lunet.Tensor, got no value", d.backward, d)
    end)

    it("raises when called before forward", function()
      local d = lunet.Dense(2, 3)
      assert_error_has("Dense:backward: no forward pass yet (call forward before backward)",
                       d.backward, d, lunet.ones(4, 3))
    end)
  end)

  describe("get_parameters()", function()
    it("returns the layer's own weights and biases", function()
      local d = lunet.Dense(2, 3)
      local w, b = d:get_parameters()
      assert.are.equal(d.weights, w)
      assert.are.equal(d.biases, b)
      w:set(1, 1, 9)
      assert.are.equal(9, d.weights:get(1, 1))
    end)
  end)

  describe("set_parameters()", function()
    it("copies the values in", function()
      local d = lunet.Dense(2, 2)
      local w, b = lunet.tensor{{1, 2}, {3, 4}}, lunet.tensor{{5, 6}}
      local own = d.weights
      d:set_parameters(w, b)
      assert.are.equal(own, d.weights)
      assert.same({{1, 2}, {3, 4}}, d.weights:totable())
      assert.same({{5, 6}}, d.biases:totable())
      w:set(1, 1, 100)
      assert.are.equal(1, d.weights:get(1, 1))
    end)

    it("accepts 1-D biases of n_neurons values", function()
      local d = lunet.Dense(2, 2)
      d:set_parameters(lunet.zeros(2, 2), lunet.tensor{7, 8})
      assert.same({{7, 8}}, d.biases:totable())
    end)

    it("rejects mismatched shapes, naming both, and changes nothing", function()
      local d = lunet.Dense(2, 3)
      local before = d.weights:totable()
      assert_error_has("Dense:set_parameters: weights are 3x2, expected 2x3 (Dense(2 -> 3))",
                       d.set_parameters, d, lunet.ones(3, 2), lunet.ones(1, 3))
      assert_error_has("Dense:set_parameters: biases are 3x1, expected 1x3 (Dense(2 -> 3))",
                       d.set_parameters, d, lunet.ones(2, 3), lunet.ones(3, 1))
      assert_error_has("Dense:set_parameters: argument 2 (biases) must be a lunet.Tensor, got no value",
                       d.set_parameters, d, lunet.ones(2, 3))
      assert.same(before, d.weights:totable())
    end)
  end)

  describe("field assignment", function()
    it("sets weights and biases by copying", function()
      local d = lunet.Dense(1, 2)
      local own = d.biases
      d.weights = lunet.tensor{{3, 4}}
      d.biases = lunet.tensor{{1, 2}}
      assert.same({{3, 4}}, d.weights:totable())
      assert.are.equal(own, d.biases)
      assert.same({{1, 2}}, own:totable())
    end)

    it("rejects other fields and bad shapes", function()
      local d = lunet.Dense(1, 2)
      assert_error_has("Dense: cannot assign field 'output' (only weights and biases can be set)",
                       function() d.output = lunet.ones(1, 2) end)
      assert_error_has("Dense: weights are 2x1, expected 1x2 (Dense(1 -> 2))",
                       function() d.weights = lunet.ones(2, 1) end)
      assert_error_has("Dense: biases must be a lunet.Tensor, got number", function() d.biases = 0 end)
    end)
  end)
end)

describe("lunet.Dropout", function()
  describe("lunet.Dropout()", function()
    it("keeps its rate and describes itself", function()
      local d = lunet.Dropout(0.1)
      assert.are.equal(0.1, d.rate)
      assert.are.equal("Dropout(0.1)", tostring(d))
    end)

    it("rejects rates outside [0, 1)", function()
      assert_error_has("lunet.Dropout: argument 1 (rate) must be in [0, 1), got 1", lunet.Dropout, 1)
      assert_error_has("lunet.Dropout: argument 1 (rate) must be in [0, 1), got -0.1", lunet.Dropout, -0.1)
      assert_error_has("lunet.Dropout: argument 1 (rate) must be in [0, 1), got nan", lunet.Dropout, 0 / 0)
      assert_error_has("lunet.Dropout: argument 1 (rate) must be a number, got no value", lunet.Dropout)
      assert_error_has("lunet.Dropout: argument 1 (rate) must be a number, got table", lunet.Dropout, {})
    end)
  end)

  describe("forward()", function()
    it("drops about `rate` of the values and scales the rest by 1 / (1 - rate)", function()
      lunet.seed(11)
      local rate = 0.3
      local d = lunet.Dropout(rate)
      local out = d:forward(lunet.ones(1000, 100), true)
      local scale = 1 / (1 - rate)
      assert.is_true(math.abs(out:max() - scale) < 1e-6)
      assert.are.equal(0, out:min())
      local zeros = out:eq(0):sum()
      local kept = out:eq(out:max()):sum()
      assert.are.equal(100000, zeros + kept)
      assert.is_true(math.abs(zeros / 100000 - rate) < 0.01)
    end)

    it("is on when training is omitted (the book's chapter 15)", function()
      lunet.seed(1)
      local out = lunet.Dropout(0.5):forward(lunet.ones(50, 20))
      assert.is_true(out:eq(0):sum() > 100)
    end)

    it("is inactive when training is false", function()
      local d = lunet.Dropout(0.5)
      local x = lunet.randn(4, 5)
      local out = d:forward(x, false)
      assert.same(x:totable(), out:totable())
      assert.are_not.equal(x, out)
      local dv = lunet.randn(4, 5)
      assert.same(dv:totable(), d:backward(dv):totable())
    end)

    it("keeps everything at rate 0", function()
      local x = lunet.randn(3, 3)
      assert.same(x:totable(), lunet.Dropout(0):forward(x):totable())
    end)

    it("reuses its buffers for the same shape and accepts any shape", function()
      local d = lunet.Dropout(0.2)
      local a = d:forward(lunet.ones(3, 4))
      assert.are.equal(a, d:forward(lunet.ones(3, 4)))
      assert.same({2, 3, 4}, {d:forward(lunet.ones(2, 3, 4)):shape()})
    end)

    it("rejects non-tensors", function()
      local d = lunet.Dropout(0.2)
      assert_error_has("Dropout:forward: argument 1 (inputs) must be a lunet.Tensor, got number", d.forward, d, 3)
    end)
  end)

  describe("backward()", function()
    it("multiplies dvalues by the forward pass's mask", function()
      lunet.seed(5)
      local d = lunet.Dropout(0.4)
      local mask = d:forward(lunet.ones(6, 7)):clone() -- inputs of ones: output = mask
      local dv = lunet.randn(6, 7)
      assert_close(d:backward(dv), dv * mask, 1e-6)
      assert.are.equal(d.dinputs, d:backward(dv))
    end)

    it("matches finite differences with a fixed mask (same seed per pass)", function()
      local d = lunet.Dropout(0.3)
      local x, R = lunet.randn(4, 6), lunet.randn(4, 6)
      local function f()
        lunet.seed(9)
        return (d:forward(x) * R):sum()
      end
      f()
      local din = d:backward(R):clone()
      assert_close(din, numgrad(f, x, 1e-2), 2e-3)
    end)

    it("rejects bad dvalues and a call before forward", function()
      local d = lunet.Dropout(0.3)
      assert_error_has("Dropout:backward: no forward pass yet (call forward before backward)",
                       d.backward, d, lunet.ones(2, 2))
      d:forward(lunet.ones(2, 3))
      assert_error_has("Dropout:backward: dvalues are 3x2, expected 2x3 (the last forward's output shape)",
                       d.backward, d, lunet.ones(3, 2))
    end)
  end)

  it("cannot be assigned fields", function()
    local d = lunet.Dropout(0.3)
    assert_error_has("Dropout: cannot assign field 'rate'", function() d.rate = 0.5 end)
  end)
end)

describe("lunet.Input", function()
  it("passes inputs forward and dvalues backward without copying", function()
    local l = lunet.Input()
    assert.are.equal("Input", tostring(l))
    local x = lunet.randn(3, 2)
    assert.are.equal(x, l:forward(x))
    assert.are.equal(x, l.output)
    local dv = lunet.randn(3, 2)
    assert.are.equal(dv, l:backward(dv))
    assert.are.equal(dv, l.dinputs)
  end)

  it("matches finite differences", function()
    local l = lunet.Input()
    local x, R = lunet.randn(3, 4), lunet.randn(3, 4)
    local function f() return (l:forward(x) * R):sum() end
    f()
    assert_close(l:backward(R), numgrad(f, x, 1e-2), 2e-3)
  end)

  it("rejects bad arguments", function()
    local l = lunet.Input()
    assert_error_has("Input:backward: no forward pass yet", l.backward, l, lunet.ones(2))
    assert_error_has("Input:forward: argument 1 (inputs) must be a lunet.Tensor, got string", l.forward, l, "x")
    l:forward(lunet.ones(2, 2))
    assert_error_has("Input:backward: dvalues are 2x3, expected 2x2", l.backward, l, lunet.ones(2, 3))
  end)
end)

describe("layer:parameters()", function()
  it("lists a Dense layer's own tensors and their gradients, in the same order", function()
    local d = lunet.Dense(2, 3)
    local params, grads = d:parameters()
    assert.are.equal(2, #params)
    assert.are.equal(d.weights, params[1]); assert.are.equal(d.biases, params[2])
    -- before any backward: zeros of the parameters' shapes
    assert.are.same({ 2, 3 }, { grads[1]:shape() }); assert.are.same({ 1, 3 }, { grads[2]:shape() })
    assert.are.equal(0, grads[1]:abs():sum() + grads[2]:abs():sum())
    d:forward(lunet.ones(4, 2)); d:backward(lunet.ones(4, 3))
    local _, g = d:parameters()
    assert.are.equal(d.dweights, g[1]); assert.are.equal(d.dbiases, g[2])
    assert.are.same({ { 4, 4, 4 } }, g[2]:totable())
  end)
  it("gives empty lists for layers without parameters", function()
    for _, l in ipairs { lunet.ReLU(), lunet.Softmax(), lunet.Dropout(0.5), lunet.Input() } do
      local p, g = l:parameters()
      assert.are.same({}, p); assert.are.same({}, g)
    end
    local d = lunet.Dense(1, 1)
    assert.has_error(function() d:parameters(1) end, "Dense:parameters: takes no arguments, got 1")
  end)
end)
