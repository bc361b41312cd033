-- Specs of lunet.CategoricalAccuracy and lunet.RegressionAccuracy (src/accuracy.c).
local lunet = require "lunet"
local check = require "helpers.check"
local assert_close, assert_error_has = check.close, check.error_has

describe("lunet.CategoricalAccuracy", function()
  describe("lunet.CategoricalAccuracy()", function()
    it("is not binary by default", function()
      local acc = lunet.CategoricalAccuracy()
      assert.is_false(acc.binary)
      assert.is_nil(acc.precision)
      assert.is_true(lunet.CategoricalAccuracy{ binary = true }.binary)
    end)

    it("rejects bad options", function()
      assert_error_has("lunet.CategoricalAccuracy: option 'binary' must be a boolean, got number",
                       lunet.CategoricalAccuracy, { binary = 1 })
      assert_error_has("lunet.CategoricalAccuracy: unknown option 'binray'",
                       lunet.CategoricalAccuracy, { binray = true })
    end)

    it("prints its setting", function()
      assert.are.equal("CategoricalAccuracy(binary=false)", tostring(lunet.CategoricalAccuracy()))
      assert.are.equal("CategoricalAccuracy(binary=true)", tostring(lunet.CategoricalAccuracy{ binary = true }))
    end)
  end)

  describe("init()", function()
    it("does nothing", function()
      local acc = lunet.CategoricalAccuracy()
      assert.are.equal(acc, acc:init(lunet.tensor{1, 2}))
      assert.are.equal(acc, acc:init(lunet.tensor{1, 2}, true))
      assert_close(acc:calculate(lunet.tensor{1, 2}, lunet.tensor{1, 1}), 0.5, 0)
    end)
  end)

  describe("calculate()", function()
    it("compares predicted labels with sparse labels", function()
      local acc = lunet.CategoricalAccuracy()
      assert_close(acc:calculate(lunet.tensor{1, 2, 3, 1}, lunet.tensor{1, 2, 2, 1}), 0.75, 0)
    end)

    it("compares with the argmax of one-hot rows", function()
      local acc = lunet.CategoricalAccuracy()
      local y = lunet.tensor{{1, 0, 0}, {0, 1, 0}, {0, 1, 0}, {1, 0, 0}}
      assert_close(acc:calculate(lunet.tensor{1, 2, 3, 1}, y), 0.75, 0)
    end)

    it("reads N x 1 predictions and labels as one label per row", function()
      local acc = lunet.CategoricalAccuracy()
      assert_close(acc:calculate(lunet.tensor{{2}, {3}}, lunet.tensor{{2}, {1}}), 0.5, 0)
    end)

    it("compares element-wise when binary", function()
      local acc = lunet.CategoricalAccuracy{ binary = true }
      assert_close(acc:calculate(lunet.tensor{{1}, {0}, {1}}, lunet.tensor{{1}, {1}, {1}}), 2 / 3, 1e-15)
      assert_close(acc:calculate(lunet.tensor{{1, 0}, {0, 0}}, lunet.tensor{{1, 1}, {0, 0}}), 0.75, 0)
      assert_close(acc:calculate(lunet.tensor{1, 0}, lunet.tensor{{1}, {1}}), 0.5, 0)
    end)

    it("accumulates over batches of different sizes, weighted by samples", function()
      local acc = lunet.CategoricalAccuracy()
      assert_close(acc:calculate(lunet.tensor{1, 2}, lunet.tensor{1, 2}), 1, 0)
      assert_close(acc:calculate(lunet.tensor{1, 1, 1, 1}, lunet.tensor{2, 1, 2, 2}), 0.25, 0)
      assert.are.equal(6, acc.accumulated_count)
      assert.are.equal(3, acc.accumulated_sum)
      assert_close(acc:calculate_accumulated(), 0.5, 0)
      acc:new_pass()
      assert.are.equal(0, acc.accumulated_count)
      assert.are.equal(0, acc.accumulated_sum)
      assert_error_has("CategoricalAccuracy:calculate_accumulated: nothing accumulated since the last new_pass()",
                       acc.calculate_accumulated, acc)
    end)

    it("rejects wrong types and shapes", function()
      local acc = lunet.CategoricalAccuracy()
      assert_error_has("CategoricalAccuracy:calculate: predictions must be a lunet.Tensor, got table",
                       acc.calculate, acc, {1, 2}, lunet.tensor{1, 2})
      assert_error_has("CategoricalAccuracy:calculate: y must be a lunet.Tensor, got number",
                       acc.calculate, acc, lunet.tensor{1, 2}, 1)
      assert_error_has("CategoricalAccuracy:calculate: predictions are 2x3, expected one class label per row",
                       acc.calculate, acc, lunet.zeros(2, 3), lunet.tensor{1, 2})
      assert_error_has("CategoricalAccuracy:calculate: predictions are 4 but y is 3",
                       acc.calculate, acc, lunet.tensor{1, 2, 3, 1}, lunet.tensor{1, 2, 3})
      assert_error_has("CategoricalAccuracy:calculate: predictions are 2 but y is 3x2",
                       acc.calculate, acc, lunet.tensor{1, 2}, lunet.zeros(3, 2))
      local bin = lunet.CategoricalAccuracy{ binary = true }
      assert_error_has("CategoricalAccuracy:calculate: predictions are 2x2 but y is 2x1",
                       bin.calculate, bin, lunet.zeros(2, 2), lunet.zeros(2, 1))
      assert_error_has("CategoricalAccuracy:calculate: self must be a lunet.CategoricalAccuracy, got lunet.Tensor: " ..
        "call the method with ':'",
                       acc.calculate, lunet.tensor{1}, lunet.tensor{1})
      assert.are.equal(0, acc.accumulated_count)
    end)
  end)
end)

describe("lunet.RegressionAccuracy", function()
  local y = lunet.tensor{{1}, {2}, {3}, {4}}
  local precision = math.sqrt(1.25) / 250 -- np.std([1, 2, 3, 4]) / 250

  describe("init()", function()
    it("sets precision = std(y) / 250 (population std)", function()
      local acc = lunet.RegressionAccuracy()
      assert.is_nil(acc.precision)
      assert.are.equal(acc, acc:init(y))
      assert_close(acc.precision, precision, 1e-15)
      assert.is_nil(acc.binary)
    end)

    it("keeps the precision unless reinit is true", function()
      local acc = lunet.RegressionAccuracy()
      acc:init(y)
      acc:init(y * 10)
      assert_close(acc.precision, precision, 1e-15)
      acc:init(y * 10, false)
      assert_close(acc.precision, precision, 1e-15)
      acc:init(y * 10, true)
      assert_close(acc.precision, 10 * precision, 1e-14)
    end)

    it("rejects wrong types", function()
      local acc = lunet.RegressionAccuracy()
      assert_error_has("RegressionAccuracy:init: y must be a lunet.Tensor, got no value", acc.init, acc)
      assert_error_has("RegressionAccuracy:init: reinit must be a boolean, got number", acc.init, acc, y, 1)
      assert_error_has("lunet.RegressionAccuracy: unknown option 'precision'", lunet.RegressionAccuracy,
                       { precision = 1 })
    end)
  end)

  describe("calculate()", function()
    it("counts predictions within precision of y", function()
      local acc = lunet.RegressionAccuracy()
      acc:init(y)
      local p = lunet.tensor{{1 + precision / 2}, {2 - precision / 2}, {3 + 2 * precision}, {4}}
      assert_close(acc:calculate(p, y), 0.75, 0)
      assert_close(acc:calculate(lunet.tensor{1, 5}, lunet.tensor{{1}, {2}}), 0.5, 0)
      assert.are.equal(6, acc.accumulated_count)
      assert_close(acc:calculate_accumulated(), 4 / 6, 1e-15)
      acc:new_pass()
      assert.are.equal(0, acc.accumulated_count)
    end)

    it("raises before init", function()
      local acc = lunet.RegressionAccuracy()
      assert_error_has("RegressionAccuracy:calculate: precision is not set: call init(y) first",
                       acc.calculate, acc, y, y)
    end)

    it("names both shapes on a mismatch", function()
      local acc = lunet.RegressionAccuracy()
      acc:init(y)
      assert_error_has("RegressionAccuracy:calculate: predictions are 4x1 but y is 3x1",
                       acc.calculate, acc, y, lunet.zeros(3, 1))
      assert_error_has("RegressionAccuracy:calculate: predictions are 2x2x1 but y is 2x2x1",
                       acc.calculate, acc, lunet.zeros(2, 2, 1), lunet.zeros(2, 2, 1))
    end)
  end)

  it("prints its precision", function()
    local acc = lunet.RegressionAccuracy()
    assert.are.equal("RegressionAccuracy(precision=nil)", tostring(acc))
    acc:init(lunet.tensor{0, 500})
    assert.are.equal("RegressionAccuracy(precision=1)", tostring(acc))
    acc:init(y, true)
    assert.are.equal("RegressionAccuracy(precision=0.00447213595499958)", tostring(acc))
  end)
end)
