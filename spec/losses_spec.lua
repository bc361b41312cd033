-- Specs of the losses (src/losses.c, src/kernels/loss.c): CategoricalCrossentropy,
-- BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError and the combined
-- SoftmaxCategoricalCrossentropy.
local lunet = require "lunet"
local check = require "helpers.check"
local assert_close, assert_error_has, numgrad = check.close, check.error_has, check.numgrad

-- analytic and numeric gradients agree within float32 finite-difference error
local function assert_grad(analytic, numeric)
  local a, n = analytic:totable(), numeric:totable()
  for i = 1, #a do
    for j = 1, #a[i] do
      local tol = 2e-3 + 1e-2 * math.abs(n[i][j])
      assert(math.abs(a[i][j] - n[i][j]) <= tol,
             string.format("gradient (%d,%d): analytic %.7g, numeric %.7g", i, j, a[i][j], n[i][j]))
    end
  end
end

-- a rows x cols tensor of uniform values in [lo, hi) (Lua's generator, seeded)
local function uniform(rows, cols, lo, hi)
  local t = {}
  for i = 1, rows do
    t[i] = {}
    for j = 1, cols do t[i][j] = lo + (hi - lo) * math.random() end
  end
  return lunet.tensor(t)
end

-- gradient check of loss's mean w.r.t. y_pred at pred against y
local function check_loss_gradient(loss, pred, y)
  local dinputs = loss:backward(pred, y):clone()
  local numeric = numgrad(function() return loss:forward(pred, y):mean() end, pred, 1e-3)
  assert_grad(dinputs, numeric)
end

local book_outputs = {{0.7, 0.1, 0.2}, {0.1, 0.5, 0.4}, {0.02, 0.9, 0.08}}

describe("lunet.CategoricalCrossentropy", function()
  before_each(function() math.randomseed(7) end)

  describe("forward()", function()
    it("is -log of the correct confidence (sparse labels)", function()
      local loss = lunet.CategoricalCrossentropy()
      local out = loss:forward(lunet.tensor{{0.7, 0.1, 0.2}}, lunet.tensor{1})
      assert.same({1}, {out:shape()})
      assert_close(out, {-math.log(0.7)}, 1e-6)
    end)

    it("sums y_pred * y_true per row for one-hot labels", function()
      local loss = lunet.CategoricalCrossentropy()
      local out = loss:forward(lunet.tensor(book_outputs), lunet.tensor{{1, 0, 0}, {0, 1, 0}, {0, 1, 0}})
      assert_close(out, {-math.log(0.7), -math.log(0.5), -math.log(0.9)}, 1e-6)
    end)

    it("gives the book's mean loss 0.385 (chapter 5)", function()
      local loss = lunet.CategoricalCrossentropy()
      assert_close(loss:calculate(lunet.tensor(book_outputs), lunet.tensor{1, 2, 2}), 0.38506088005216804, 1e-6)
    end)

    it("clips predictions to [1e-7, 1 - 1e-7]", function()
      local loss = lunet.CategoricalCrossentropy()
      local out = loss:forward(lunet.tensor{{0, 1}, {1, 0}}, lunet.tensor{1, 1})
      assert_close(out:get(1), -math.log(1e-7), 1e-4)
      assert.is_true(out:get(2) > 0 and out:get(2) < 2e-7)
      out = loss:forward(lunet.tensor{{0, 1}}, lunet.tensor{{1, 0}})
      assert_close(out:get(1), -math.log(1e-7), 1e-4)
    end)

    it("keeps the per-sample losses as `output` and reuses the buffer for one batch size", function()
      local loss = lunet.CategoricalCrossentropy()
      local a = loss:forward(lunet.tensor(book_outputs), lunet.tensor{1, 2, 2})
      local b = loss:forward(lunet.tensor(book_outputs), lunet.tensor{2, 2, 2})
      assert.are.equal(a, b)
      assert.are.equal(b, loss.output)
    end)
  end)

  describe("backward()", function()
    it("is -y_true / dvalues / samples", function()
      local loss = lunet.CategoricalCrossentropy()
      local d = loss:backward(lunet.tensor{{0.7, 0.1, 0.2}, {0.5, 0.25, 0.25}}, lunet.tensor{1, 2})
      assert_close(d, {{-1 / 0.7 / 2, 0, 0}, {0, -1 / 0.25 / 2, 0}}, 1e-6)
      assert.are.equal(d, loss.dinputs)
    end)

    it("matches the finite-difference gradient with sparse labels", function()
      check_loss_gradient(lunet.CategoricalCrossentropy(), uniform(4, 3, 0.1, 0.9), lunet.tensor{1, 3, 2, 3})
    end)

    it("matches the finite-difference gradient with one-hot labels", function()
      local y = lunet.tensor{{0, 1, 0, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}}
      check_loss_gradient(lunet.CategoricalCrossentropy(), uniform(3, 4, 0.1, 0.9), y)
    end)
  end)

  describe("errors", function()
    local loss = lunet.CategoricalCrossentropy()
    local pred = lunet.tensor(book_outputs)

    it("rejects arguments that are not tensors", function()
      assert_error_has("CategoricalCrossentropy:forward: y_pred must be a lunet.Tensor, got number",
                       loss.forward, loss, 3, lunet.tensor{1})
      assert_error_has("CategoricalCrossentropy:forward: y_true must be a lunet.Tensor, got no value",
                       loss.forward, loss, pred)
      assert_error_has("CategoricalCrossentropy:backward: dvalues must be a lunet.Tensor, got string",
                       loss.backward, loss, "x", lunet.tensor{1, 2, 2})
      assert_error_has("CategoricalCrossentropy:forward: self must be a lunet.CategoricalCrossentropy, got " ..
        "lunet.Tensor: call the method with ':'", loss.forward, pred, pred)
    end)

    it("rejects labels out of range, non-integer, or of the wrong count", function()
      assert_error_has("CategoricalCrossentropy:forward: label 4 at row 2 is outside 1..3",
                       loss.forward, loss, pred, lunet.tensor{1, 4, 2})
      assert_error_has("CategoricalCrossentropy:forward: label 0 at row 1 is outside 1..3",
                       loss.forward, loss, pred, lunet.tensor{0, 1, 2})
      assert_error_has("CategoricalCrossentropy:forward: label 1.5 at row 3 is not an integer",
                       loss.forward, loss, pred, lunet.tensor{1, 2, 1.5})
      assert_error_has("CategoricalCrossentropy:forward: y_true has 2 labels but y_pred has 3 rows",
                       loss.forward, loss, pred, lunet.tensor{1, 2})
      assert_error_has("CategoricalCrossentropy:backward: label 5 at row 1 is outside 1..3",
                       loss.backward, loss, pred, lunet.tensor{5, 1, 1})
      assert_error_has("CategoricalCrossentropy:calculate: y_true has 4 labels but y_pred has 3 rows",
                       loss.calculate, loss, pred, lunet.tensor{1, 2, 3, 1})
    end)

    it("rejects shapes that do not fit", function()
      assert_error_has("CategoricalCrossentropy:forward: y_pred must be 2-D (samples x classes), got 3",
                       loss.forward, loss, lunet.tensor{0.1, 0.2, 0.7}, lunet.tensor{1, 2, 2})
      assert_error_has("CategoricalCrossentropy:forward: y_pred is 3x3 but y_true is 3x2",
                       loss.forward, loss, pred, lunet.zeros(3, 2))
      assert_error_has("CategoricalCrossentropy:backward: dvalues is 3x3 but y_true is 2x3",
                       loss.backward, loss, pred, lunet.zeros(2, 3))
    end)

    it("leaves the buffers alone when the arguments are wrong", function()
      local l = lunet.CategoricalCrossentropy()
      local out = l:forward(pred, lunet.tensor{1, 2, 2}):clone()
      pcall(l.forward, l, lunet.zeros(5, 3), lunet.tensor{1, 2, 9, 1, 1})
      assert_close(l.output, out, 0)
    end)

    it("rejects constructor options", function()
      assert_error_has("lunet.CategoricalCrossentropy: unknown option 'foo'", lunet.CategoricalCrossentropy, {foo = 1})
    end)
  end)

  it("prints as CategoricalCrossentropy()", function()
    assert.are.equal("CategoricalCrossentropy()", tostring(lunet.CategoricalCrossentropy()))
  end)
end)

describe("lunet.BinaryCrossentropy", function()
  before_each(function() math.randomseed(11) end)

  describe("forward()", function()
    it("is the mean over outputs of -(y log p + (1 - y) log(1 - p))", function()
      local loss = lunet.BinaryCrossentropy()
      local out = loss:forward(lunet.tensor{{0.8, 0.4}, {0.3, 0.9}}, lunet.tensor{{1, 0}, {0, 1}})
      assert_close(out, {(-math.log(0.8) - math.log(0.6)) / 2, (-math.log(0.7) - math.log(0.9)) / 2}, 1e-6)
    end)

    it("accepts a 1-D y_true with an N x 1 y_pred, and a 1-D y_pred", function()
      local loss = lunet.BinaryCrossentropy()
      assert_close(loss:forward(lunet.tensor{{0.8}, {0.3}}, lunet.tensor{1, 0}), {-math.log(0.8), -math.log(0.7)}, 1e-6)
      assert_close(loss:forward(lunet.tensor{0.8, 0.3}, lunet.tensor{{1}, {0}}), {-math.log(0.8), -math.log(0.7)}, 1e-6)
    end)

    it("clips predictions to [1e-7, 1 - 1e-7]", function()
      local loss = lunet.BinaryCrossentropy()
      local out = loss:forward(lunet.tensor{{0}, {1}}, lunet.tensor{{1}, {0}})
      -- 1 - 1e-7 rounds to 1 - 2^-23 in float32 (as in NumPy), so log(1 - p) = log(2^-23)
      assert_close(out, {-math.log(1e-7), 23 * math.log(2)}, 1e-4)
    end)
  end)

  describe("backward()", function()
    it("is -(y / p - (1 - y) / (1 - p)) / outputs / samples with clipped p", function()
      local loss = lunet.BinaryCrossentropy()
      local d = loss:backward(lunet.tensor{{0.8, 0.4}, {0.3, 0}}, lunet.tensor{{1, 0}, {0, 1}})
      assert_close(d:get(1, 1), -(1 / 0.8) / 4, 1e-6)
      assert_close(d:get(1, 2), (1 / 0.6) / 4, 1e-6)
      assert_close(d:get(2, 1), (1 / 0.7) / 4, 1e-6)
      assert_close(d:get(2, 2) / (-(1 / 1e-7) / 4), 1, 1e-5)
    end)

    it("matches the finite-difference gradient", function()
      local y = lunet.tensor{{1, 0, 1}, {0, 0, 1}, {1, 1, 0}, {0.3, 0.6, 1}}
      check_loss_gradient(lunet.BinaryCrossentropy(), uniform(4, 3, 0.1, 0.9), y)
    end)
  end)

  describe("errors", function()
    it("names both shapes on a mismatch", function()
      local loss = lunet.BinaryCrossentropy()
      assert_error_has("BinaryCrossentropy:forward: y_pred is 3x2 but y_true is 3x1",
                       loss.forward, loss, lunet.zeros(3, 2), lunet.zeros(3, 1))
      assert_error_has("BinaryCrossentropy:forward: y_pred must be 1-D or 2-D, got 2x2x2",
                       loss.forward, loss, lunet.zeros(2, 2, 2), lunet.zeros(2, 2, 2))
      assert_error_has("BinaryCrossentropy:backward: dvalues is 4 but y_true is 3",
                       loss.backward, loss, lunet.zeros(4), lunet.zeros(3))
    end)
  end)

  it("prints as BinaryCrossentropy()", function()
    assert.are.equal("BinaryCrossentropy()", tostring(lunet.BinaryCrossentropy()))
  end)
end)

describe("lunet.MeanSquaredError", function()
  before_each(function() math.randomseed(13) end)

  it("forward() is the mean over outputs of (y - p)^2", function()
    local loss = lunet.MeanSquaredError()
    local out = loss:forward(lunet.tensor{{1, 2}, {3, 4}}, lunet.tensor{{1.5, 2}, {3, 2}})
    assert_close(out, {0.125, 2}, 1e-6)
  end)

  it("backward() is -2 (y - p) / outputs / samples", function()
    local loss = lunet.MeanSquaredError()
    local d = loss:backward(lunet.tensor{{1, 2}, {3, 4}}, lunet.tensor{{1.5, 2}, {3, 2}})
    assert_close(d, {{-2 * 0.5 / 2 / 2, 0}, {0, -2 * -2 / 2 / 2}}, 1e-6)
  end)

  it("backward() matches the finite-difference gradient", function()
    check_loss_gradient(lunet.MeanSquaredError(), uniform(5, 2, -2, 2), uniform(5, 2, -2, 2))
  end)

  it("backward() may be given its own dinputs as dvalues", function()
    local loss = lunet.MeanSquaredError()
    local y = lunet.tensor{{1}, {2}}
    local d1 = loss:backward(lunet.tensor{{0}, {0}}, y):clone()
    local d2 = loss:backward(loss.dinputs, y)
    local expected = {}
    for i = 1, 2 do expected[i] = {-2 * (y:get(i, 1) - d1:get(i, 1)) / 2} end
    assert_close(d2, expected, 1e-6)
  end)

  it("names both shapes on a mismatch", function()
    local loss = lunet.MeanSquaredError()
    assert_error_has("MeanSquaredError:forward: y_pred is 5x1 but y_true is 4x1",
                     loss.forward, loss, lunet.zeros(5, 1), lunet.zeros(4, 1))
    assert_error_has("MeanSquaredError:calculate: y_pred is 5x1 but y_true is 5x2",
                     loss.calculate, loss, lunet.zeros(5, 1), lunet.zeros(5, 2))
  end)

  it("prints as MeanSquaredError()", function()
    assert.are.equal("MeanSquaredError()", tostring(lunet.MeanSquaredError()))
  end)
end)

describe("lunet.MeanAbsoluteError", function()
  before_each(function() math.randomseed(17) end)

  it("forward() is the mean over outputs of |y - p|", function()
    local loss = lunet.MeanAbsoluteError()
    local out = loss:forward(lunet.tensor{{1, 2}, {3, 4}}, lunet.tensor{{1.5, 2}, {3, 2}})
    assert_close(out, {0.25, 1}, 1e-6)
  end)

  it("backward() is -sign(y - p) / outputs / samples (the book's printed code drops the minus)", function()
    local loss = lunet.MeanAbsoluteError()
    local d = loss:backward(lunet.tensor{{1}, {3}, {2}}, lunet.tensor{{2}, {1}, {2}})
    assert_close(d, {{-1 / 3}, {1 / 3}, {0}}, 1e-6)
  end)

  it("backward() matches the finite-difference gradient away from the kink", function()
    local pred = uniform(5, 3, -2, 2)
    local y = pred:clone()
    for i = 1, 5 do
      for j = 1, 3 do y:set(i, j, pred:get(i, j) + ((i + j) % 2 == 0 and 0.5 or -0.7)) end
    end
    check_loss_gradient(lunet.MeanAbsoluteError(), pred, y)
  end)

  it("names both shapes on a mismatch", function()
    local loss = lunet.MeanAbsoluteError()
    assert_error_has("MeanAbsoluteError:backward: dvalues is 2x2 but y_true is 2x3",
                     loss.backward, loss, lunet.zeros(2, 2), lunet.zeros(2, 3))
  end)

  it("prints as MeanAbsoluteError()", function()
    assert.are.equal("MeanAbsoluteError()", tostring(lunet.MeanAbsoluteError()))
  end)
end)

describe("loss (common methods)", function()
  local W = {{1, -2}, {3, -0.5}}
  local B = {{0.5, -1}}
  -- 0.1 * 6.5 + 0.01 * 14.25 + 0.2 * 1.5 + 0.02 * 1.25
  local REG = 0.65 + 0.1425 + 0.3 + 0.025

  local function dense()
    local d = lunet.Dense(2, 2, { weight_regularizer_l1 = 0.1, weight_regularizer_l2 = 0.01,
                                  bias_regularizer_l1 = 0.2, bias_regularizer_l2 = 0.02 })
    d:set_parameters(lunet.tensor(W), lunet.tensor(B))
    return d
  end

  describe("regularization_loss()", function()
    it("is l1 * sum|w| + l2 * sum w^2 for weights and biases", function()
      local loss = lunet.CategoricalCrossentropy()
      assert_close(loss:regularization_loss(dense()), REG, 1e-9)
    end)

    it("counts only the regularizers that are set", function()
      local d = lunet.Dense(2, 2, { weight_regularizer_l2 = 5e-4 })
      d:set_parameters(lunet.tensor(W), lunet.tensor(B))
      assert_close(lunet.MeanSquaredError():regularization_loss(d), 5e-4 * 14.25, 1e-12)
    end)

    it("is 0 for layers without weights or regularizers", function()
      local loss = lunet.CategoricalCrossentropy()
      assert.are.equal(0, loss:regularization_loss(lunet.ReLU()))
      assert.are.equal(0, loss:regularization_loss(lunet.Dense(3, 2)))
    end)

    it("sums over the remembered layers when no layer is given", function()
      local loss = lunet.CategoricalCrossentropy()
      assert.are.equal(0, loss:regularization_loss())
      loss:remember_trainable_layers{dense(), dense()}
      assert_close(loss:regularization_loss(), 2 * REG, 1e-9)
    end)

    it("rejects values that are not layers", function()
      local loss = lunet.CategoricalCrossentropy()
      assert_error_has("CategoricalCrossentropy:regularization_loss: layer must be a layer, got number",
                       loss.regularization_loss, loss, 42)
    end)
  end)

  describe("calculate()", function()
    it("returns the mean data loss, and the regularization loss when asked", function()
      local loss = lunet.CategoricalCrossentropy()
      loss:remember_trainable_layers{dense()}
      local pred, y = lunet.tensor(book_outputs), lunet.tensor{1, 2, 2}
      local r = {loss:calculate(pred, y)}
      assert.are.equal(1, #r)
      assert_close(r[1], 0.38506088005216804, 1e-6)
      r = {loss:calculate(pred, y, { include_regularization = false })}
      assert.are.equal(1, #r)
      local data, reg = loss:calculate(pred, y, { include_regularization = true })
      assert_close(data, 0.38506088005216804, 1e-6)
      assert_close(reg, REG, 1e-9)
    end)

    it("rejects bad options", function()
      local loss = lunet.MeanSquaredError()
      local p = lunet.zeros(2, 1)
      assert_error_has("MeanSquaredError:calculate: unknown option 'include_reg'",
                       loss.calculate, loss, p, p, { include_reg = true })
      assert_error_has("MeanSquaredError:calculate: option 'include_regularization' must be a boolean, got number",
                       loss.calculate, loss, p, p, { include_regularization = 1 })
      assert_error_has("MeanSquaredError:calculate: options must be a table, got string",
                       loss.calculate, loss, p, p, "yes")
    end)
  end)

  describe("calculate_accumulated() and new_pass()", function()
    it("weigh every sample of batches of different sizes", function()
      local loss = lunet.MeanSquaredError()
      local l1 = loss:calculate(lunet.tensor{{1}, {2}}, lunet.tensor{{0}, {0}})        -- (1 + 4) / 2
      local l2 = loss:calculate(lunet.tensor{{1}, {1}, {1}}, lunet.tensor{{0}, {3}, {1}}) -- (1 + 4 + 0) / 3
      assert_close(l1, 2.5, 1e-9)
      assert_close(l2, 5 / 3, 1e-6)
      assert.are.equal(5, loss.accumulated_count)
      assert_close(loss.accumulated_sum, 10, 1e-6)
      assert_close(loss:calculate_accumulated(), 2, 1e-6)
      loss:new_pass()
      assert.are.equal(0, loss.accumulated_count)
      assert.are.equal(0, loss.accumulated_sum)
      loss:calculate(lunet.tensor{{3}}, lunet.tensor{{0}})
      assert_close(loss:calculate_accumulated(), 9, 1e-6)
    end)

    it("add the remembered layers' regularization when asked", function()
      local loss = lunet.CategoricalCrossentropy()
      loss:remember_trainable_layers{dense()}
      loss:calculate(lunet.tensor(book_outputs), lunet.tensor{1, 2, 2})
      local data, reg = loss:calculate_accumulated{ include_regularization = true }
      assert_close(data, 0.38506088005216804, 1e-6)
      assert_close(reg, REG, 1e-9)
    end)

    it("do not accumulate in forward()", function()
      local loss = lunet.MeanSquaredError()
      loss:forward(lunet.zeros(3, 1), lunet.ones(3, 1))
      assert.are.equal(0, loss.accumulated_count)
    end)

    it("raise when nothing was accumulated", function()
      local loss = lunet.MeanAbsoluteError()
      assert_error_has("MeanAbsoluteError:calculate_accumulated: no samples accumulated since the last new_pass()",
                       loss.calculate_accumulated, loss)
    end)
  end)

  describe("remember_trainable_layers()", function()
    it("keeps a copy of the list", function()
      local loss = lunet.CategoricalCrossentropy()
      local d = dense()
      local list = {d}
      loss:remember_trainable_layers(list)
      list[2] = dense()
      assert.are.equal(1, #loss.trainable_layers)
      assert.are.equal(d, loss.trainable_layers[1])
    end)

    it("rejects what is not a list of layers", function()
      local loss = lunet.CategoricalCrossentropy()
      assert_error_has("CategoricalCrossentropy:remember_trainable_layers: "
                       .. "argument 1 must be a list of layers, got number",
                       loss.remember_trainable_layers, loss, 5)
      assert_error_has("CategoricalCrossentropy:remember_trainable_layers: element 2 must be a layer, got string",
                       loss.remember_trainable_layers, loss, {dense(), "x"})
    end)
  end)
end)

describe("lunet.SoftmaxCategoricalCrossentropy", function()
  before_each(function() math.randomseed(19) end)

  describe("forward()", function()
    it("keeps softmax(inputs) as output and returns the mean CCE loss", function()
      local obj = lunet.SoftmaxCategoricalCrossentropy()
      local x = lunet.tensor{{1, 2, 3}, {0, 0, 0}}
      local loss = obj:forward(x, lunet.tensor{3, 1})
      local e = {math.exp(1), math.exp(2), math.exp(3)}
      local s = e[1] + e[2] + e[3]
      assert_close(obj.output, {{e[1] / s, e[2] / s, e[3] / s}, {1 / 3, 1 / 3, 1 / 3}}, 1e-6)
      assert_close(loss, (-math.log(e[3] / s) - math.log(1 / 3)) / 2, 1e-6)
      assert.are.equal(2, obj.accumulated_count)
      assert_close(obj:calculate_accumulated(), loss, 1e-9)
      obj:new_pass()
      assert.are.equal(0, obj.accumulated_count)
    end)

    it("rejects bad inputs and labels", function()
      local obj = lunet.SoftmaxCategoricalCrossentropy()
      assert_error_has("SoftmaxCategoricalCrossentropy:forward: inputs must be 2-D (samples x classes), got 3",
                       obj.forward, obj, lunet.zeros(3), lunet.tensor{1, 1, 1})
      assert_error_has("SoftmaxCategoricalCrossentropy:forward: label 3 at row 1 is outside 1..2",
                       obj.forward, obj, lunet.zeros(1, 2), lunet.tensor{3})
      assert_error_has("SoftmaxCategoricalCrossentropy:forward: inputs must be a lunet.Tensor, got no value",
                       obj.forward, obj)
    end)
  end)

  describe("backward()", function()
    it("gives the book's dinputs for sparse and one-hot labels", function()
      local obj = lunet.SoftmaxCategoricalCrossentropy()
      local expected = {{-0.1, 0.03333333, 0.06666667}, {0.03333333, -0.16666667, 0.13333333},
                        {0.00666667, -0.03333333, 0.02666667}}
      assert_close(obj:backward(lunet.tensor(book_outputs), lunet.tensor{1, 2, 2}), expected, 1e-6)
      assert_close(obj:backward(lunet.tensor(book_outputs), lunet.tensor{{1, 0, 0}, {0, 1, 0}, {0, 1, 0}}),
                   expected, 1e-6)
      assert.are.equal(obj.dinputs, obj:backward(lunet.tensor(book_outputs), lunet.tensor{1, 1, 1}))
    end)

    it("matches the finite-difference gradient of mean CCE(softmax(x))", function()
      local obj = lunet.SoftmaxCategoricalCrossentropy()
      local x = uniform(4, 3, -2, 2)
      local y = lunet.tensor{2, 1, 3, 3}
      obj:forward(x, y)
      local dinputs = obj:backward(obj.output, y):clone()
      local numeric = numgrad(function() return obj:forward(x, y) end, x, 1e-3)
      assert_grad(dinputs, numeric)
    end)

    it("agrees with Softmax followed by CategoricalCrossentropy", function()
      local x = uniform(3, 4, -1, 1)
      local y = lunet.tensor{4, 2, 1}
      local obj = lunet.SoftmaxCategoricalCrossentropy()
      obj:forward(x, y)
      local combined = obj:backward(obj.output, y):clone()
      local act, loss = lunet.Softmax(), lunet.CategoricalCrossentropy()
      act:forward(x)
      local chained = act:backward(loss:backward(act.output, y))
      assert_close(combined, chained, 1e-5)
    end)

    it("rejects bad shapes and labels", function()
      local obj = lunet.SoftmaxCategoricalCrossentropy()
      assert_error_has("SoftmaxCategoricalCrossentropy:backward: y_true has 2 labels but dvalues has 3 rows",
                       obj.backward, obj, lunet.tensor(book_outputs), lunet.tensor{1, 2})
      assert_error_has("SoftmaxCategoricalCrossentropy:backward: label 2.5 at row 1 is not an integer",
                       obj.backward, obj, lunet.tensor(book_outputs), lunet.tensor{2.5, 1, 1})
    end)
  end)

  it("prints as SoftmaxCategoricalCrossentropy()", function()
    assert.are.equal("SoftmaxCategoricalCrossentropy()", tostring(lunet.SoftmaxCategoricalCrossentropy()))
  end)
end)
