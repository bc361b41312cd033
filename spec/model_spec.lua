local lunet = require "lunet"

local capture = require("helpers.check").capture

local function tmpfile(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. (suffix or ".safetensors")
end

local function spiral_model(opt)
  local model = lunet.Model()
  model:add(lunet.Dense(2, 64))
  model:add(lunet.ReLU())
  model:add(lunet.Dense(64, 3))
  model:add(lunet.Softmax())
  model:set {
    loss = lunet.CategoricalCrossentropy(),
    optimizer = opt or lunet.Adam { learning_rate = 0.05, decay = 5e-7 },
    accuracy = lunet.CategoricalAccuracy(),
  }
  model:finalize()
  return model
end

local function maxdiff(a, b)
  assert.same({ a:shape() }, { b:shape() })
  return (a - b):abs():max()
end

describe("lunet.Model", function()
  describe("the book's chapter 14-18 loop", function()
    it("reaches training accuracy >= 0.9 on spiral(100, 3) within 10,000 epochs", function()
      lunet.seed(0)
      local X, y = lunet.data.spiral(100, 3)
      local dense1 = lunet.Dense(2, 64)
      local activation1 = lunet.ReLU()
      local dense2 = lunet.Dense(64, 3)
      local loss_activation = lunet.SoftmaxCategoricalCrossentropy()
      local optimizer = lunet.Adam { learning_rate = 0.05, decay = 5e-7 }
      local accuracy = lunet.CategoricalAccuracy()
      local acc, first_loss, loss = 0, nil, nil
      local epoch = 0
      while epoch <= 10000 do
        dense1:forward(X)
        activation1:forward(dense1.output)
        dense2:forward(activation1.output)
        loss = loss_activation:forward(dense2.output, y)
        first_loss = first_loss or loss
        acc = accuracy:calculate(loss_activation.output:argmax(), y)
        if acc >= 0.9 then break end
        loss_activation:backward(loss_activation.output, y)
        dense2:backward(loss_activation.dinputs)
        activation1:backward(dense2.dinputs)
        dense1:backward(activation1.dinputs)
        optimizer:pre_update_params()
        optimizer:update_params(dense1)
        optimizer:update_params(dense2)
        optimizer:post_update_params()
        epoch = epoch + 1
      end
      assert.is_true(acc >= 0.9, "accuracy " .. acc .. " after " .. epoch .. " epochs")
      assert.is_true(loss < first_loss)
      assert.near(math.log(3), first_loss, 0.01) -- untrained: uniform guesses
    end)
  end)

  describe("train()", function()
    it("learns spiral data through the Model with the combined softmax/cross-entropy path", function()
      lunet.seed(0)
      local X, y = lunet.data.spiral(100, 3)
      local model = spiral_model()
      local h = model:train(X, y, { epochs = 3000, verbose = 0 })
      assert.equal(3000, #h.loss)
      -- after 3000 epochs seeds 0-5 end between 0.79 and 0.94 (rounding of the
      -- products moves the trajectory); a linear model stays near 0.5
      assert.is_true(h.accuracy[3000] > 0.75, "accuracy " .. h.accuracy[3000])
      assert.is_true(h.loss[3000] < h.loss[1])
    end)

    it("learns sine regression (Linear + MSE + RegressionAccuracy)", function()
      lunet.seed(0)
      local X, y = lunet.data.sine()
      local model = lunet.Model()
      model:add(lunet.Dense(1, 64)); model:add(lunet.ReLU())
      model:add(lunet.Dense(64, 64)); model:add(lunet.ReLU())
      model:add(lunet.Dense(64, 1)); model:add(lunet.Linear())
      model:set { loss = lunet.MeanSquaredError(), optimizer = lunet.Adam { learning_rate = 0.005, decay = 1e-3 },
                  accuracy = lunet.RegressionAccuracy() }
      model:finalize()
      local h = model:train(X, y, { epochs = 2000, verbose = 0 })
      assert.is_true(h.loss[2000] < 0.01, "loss " .. h.loss[2000])
      assert.near(y:std() / 250, model.accuracy.precision, 1e-6)
      local p = model:predict(X)
      assert.is_true((p - y):abs():mean() < 0.1)
    end)

    it("learns binary logistic regression (Sigmoid + BCE, binary accuracy)", function()
      lunet.seed(0)
      local X, labels = lunet.data.spiral(100, 2)
      local y = (labels - 1):reshape(-1, 1)
      local model = lunet.Model()
      model:add(lunet.Dense(2, 64, { weight_regularizer_l2 = 5e-4, bias_regularizer_l2 = 5e-4 }))
      model:add(lunet.ReLU())
      model:add(lunet.Dense(64, 1))
      model:add(lunet.Sigmoid())
      model:set { loss = lunet.BinaryCrossentropy(), optimizer = lunet.Adam { decay = 5e-7 },
                  accuracy = lunet.CategoricalAccuracy { binary = true } }
      model:finalize()
      local h = model:train(X, y, { epochs = 2000, verbose = 0 })
      assert.is_true(h.accuracy[2000] > 0.8, "accuracy " .. h.accuracy[2000])
      assert.is_true(h.regularization_loss[2000] > 0)
    end)

    it("trains exactly like the book's loop, on one thread or split across two, labels or one-hot, shuffled",
       function()
      -- big enough that a step is split across two threads (on 2+ cores); with
      -- 300 inputs the first layer's sum is taken in two halves (LN_DENSE_SPLIT).
      -- Shuffled, the book's loop reorders the data with lunet.data.shuffle,
      -- which draws the same permutation as train does for each epoch (on
      -- AVX-512 CPUs the step then reads those rows of X in place).
      local N, I, H, O, B = 256, nil, 64, 5, 64
      local function data(onehot)
        lunet.seed(3)
        local X, labels = lunet.randn(N, I), {}
        for i = 1, N do labels[i] = (i * 7) % O + 1 end
        if not onehot then return X, lunet.tensor(labels) end
        local rows = {}
        for i = 1, N do
          rows[i] = {}
          for c = 1, O do rows[i][c] = c == labels[i] and 1 or 0 end
        end
        return X, lunet.tensor(rows)
      end
      local function layers()
        lunet.seed(4)
        return lunet.Dense(I, H), lunet.Dense(H, H), lunet.Dense(H, O)
      end
      local function book(onehot, shuffled) -- the book's chapter 14-18 loop, batch by batch
        local X0, y0 = data(onehot)
        local d1, d2, d3 = layers()
        local a1, a2, la = lunet.ReLU(), lunet.ReLU(), lunet.SoftmaxCategoricalCrossentropy()
        local opt = lunet.Adam { learning_rate = 0.01, decay = 1e-3 }
        local lc, ac, sm = lunet.CategoricalCrossentropy(), lunet.CategoricalAccuracy(), lunet.Softmax()
        local hist = { loss = {}, accuracy = {} }
        lunet.seed(6) -- the shuffles' generator (the Model's own: m:seed(6))
        for e = 1, 3 do
          lc:new_pass(); ac:new_pass()
          local X, y = X0, y0
          if shuffled then X, y = lunet.data.shuffle(X0, y0) end
          for s = 1, N, B do
            local bx, by = X:rows(s, s + B - 1), y:rows(s, s + B - 1)
            d1:forward(bx, true); a1:forward(d1.output, true)
            d2:forward(a1.output, true); a2:forward(d2.output, true)
            d3:forward(a2.output, true)
            la:forward(d3.output, by)
            lc:calculate(la.output, by); ac:calculate(sm:predictions(la.output), by)
            la:backward(la.output, by)
            d3:backward(la.dinputs); a2:backward(d3.dinputs)
            d2:backward(a2.dinputs); a1:backward(d2.dinputs)
            d1:backward(a1.dinputs)
            opt:pre_update_params()
            opt:update_params(d1); opt:update_params(d2); opt:update_params(d3)
            opt:post_update_params()
          end
          hist.loss[e], hist.accuracy[e] = lc:calculate_accumulated(), ac:calculate_accumulated()
        end
        return { d1.weights, d1.biases, d2.weights, d2.biases, d3.weights, d3.biases, d1.inputs, d1.dweights }, hist
      end
      local function model(onehot, threads, shuffled)
        local X, y = data(onehot)
        local d1, d2, d3 = layers()
        local m = lunet.Model()
        m:add(d1); m:add(lunet.ReLU()); m:add(d2); m:add(lunet.ReLU()); m:add(d3); m:add(lunet.Softmax())
        m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.01, decay = 1e-3 },
                accuracy = lunet.CategoricalAccuracy() }
        m:finalize()
        m:seed(6)
        lunet.set_threads(threads)
        local ok, h = pcall(m.train, m, X, y, { epochs = 3, batch_size = B, shuffle = shuffled, verbose = 0 })
        lunet.set_threads(2)
        assert(ok, h)
        return { d1.weights, d1.biases, d2.weights, d2.biases, d3.weights, d3.biases, d1.inputs, d1.dweights }, h
      end
      -- the parameters, then the first layer's inputs (the last batch) and weight gradients
      for _, inputs in ipairs { 20, 300 } do
        I = inputs
        for _, onehot in ipairs { false, true } do
          for _, shuffled in ipairs { false, true } do
            local want, wanth = book(onehot, shuffled)
            for _, threads in ipairs { 1, 2 } do
              local got, goth = model(onehot, threads, shuffled)
              local what = ("%d inputs, %s, %s, %d thread(s)"):format(I, onehot and "one-hot" or "labels",
                shuffled and "shuffled" or "in order", threads)
              for i = 1, #want do
                assert.are.same(want[i]:totable(), got[i]:totable(), ("item %d, "):format(i) .. what)
              end
              -- each epoch's loss and accuracy (the plan's threads compute them after a step's first batch)
              assert.are.same(wanth.loss, goth.loss, what)
              assert.are.same(wanth.accuracy, goth.accuracy, what)
            end
          end
        end
      end
    end)

    it("leaves the failed batch in the first layer's inputs when a step raises", function()
      -- the step reads the batch's rows of X in place where it can; the layer's
      -- copy must still be the batch of the failed step, as its own forward keeps it
      local function setup()
        lunet.seed(5)
        local X, labels = lunet.randn(256, 300), {}
        for i = 1, 256 do labels[i] = i % 5 + 1 end
        local d1 = lunet.Dense(300, 64)
        local m = lunet.Model()
        m:add(d1); m:add(lunet.ReLU()); m:add(lunet.Dense(64, 5)); m:add(lunet.Softmax())
        m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(),
                accuracy = lunet.CategoricalAccuracy() }
        m:finalize()
        return m, d1, X, labels
      end
      for _, threads in ipairs { 1, 2 } do
        lunet.set_threads(threads)
        local m, d1, X, labels = setup()
        labels[100] = 9 -- the second batch (rows 65..128) has a label outside 1..5
        local ok, err = pcall(m.train, m, X, lunet.tensor(labels), { epochs = 1, batch_size = 64, verbose = 0 })
        assert.is_false(ok)
        assert.matches("Model:train: loss: label 9 at row 100 of y is outside 1..5", err, 1, true)
        assert.are.same(X:rows(65, 128):totable(), d1.inputs:totable())
        m, d1, X, labels = setup()
        X:set(100, 1, math.huge) -- the loss of the second batch is not finite
        ok, err = pcall(m.train, m, X, lunet.tensor(labels), { epochs = 1, batch_size = 64, verbose = 0 })
        assert.is_false(ok)
        assert.matches("the loss became .* at epoch 1, step 1 ", err) -- steps run several to a call
        assert.are.same(X:rows(65, 128):totable(), d1.inputs:totable())
      end
      lunet.set_threads(2)
    end)

    it("goes through the data in batches, the last one smaller, weighting it by its samples", function()
      lunet.seed(1)
      local X, y = lunet.data.spiral(10, 3) -- 30 samples: batches 8, 8, 8, 6
      local model = spiral_model(lunet.SGD { learning_rate = 0 }) -- weights stay put
      local lines = capture(function() model:train(X, y, { epochs = 1, batch_size = 8 }) end)
      local steps = {}
      for _, l in ipairs(lines) do
        local s = l:match("^step: (%d+),")
        if s then steps[#steps + 1] = tonumber(s) end
      end
      assert.same({ 0, 1, 2, 3 }, steps)
      -- with lr 0 the epoch loss equals the loss over all samples at once
      local h = model:train(X, y, { epochs = 1, batch_size = 8, verbose = 0 })
      local full = lunet.CategoricalCrossentropy():calculate(model:predict(X), y)
      assert.near(full, h.loss[1], 1e-5)
      -- evaluate and predict in batches give the full-batch answers
      local l1, a1 = model:evaluate(X, y, { verbose = 0 })
      local l2, a2 = model:evaluate(X, y, { batch_size = 7, verbose = 0 })
      assert.near(l1, l2, 1e-6)
      assert.near(a1, a2, 1e-12)
      assert.is_true(maxdiff(model:predict(X), model:predict(X, { batch_size = 4 })) < 1e-6)
    end)

    it("prints exactly the book's format", function()
      lunet.seed(2)
      local X, y = lunet.data.spiral(20, 3) -- 60 samples, batch 16: steps 0..3
      local model = spiral_model(lunet.Adam { decay = 1e-3 })
      local h
      local lines = capture(function()
        h = model:train(X, y, { epochs = 2, batch_size = 16, print_every = 2, validation_data = { X, y } })
      end)
      local step = "^step: %d+, acc: %d%.%d%d%d, loss: %d%.%d%d%d "
                   .. "%(data_loss: %d%.%d%d%d, reg_loss: %d%.%d%d%d%), lr: [%d.e-]+$"
      assert.equal("epoch: 1", lines[1])
      assert.matches(step, lines[2])
      assert.matches("^step: 0,", lines[2])
      assert.matches("^step: 2,", lines[3])
      assert.matches("^step: 3,", lines[4]) -- the last step always prints
      assert.matches("^training, acc: %d%.%d%d%d, loss: %d%.%d%d%d "
                     .. "%(data_loss: %d%.%d%d%d, reg_loss: %d%.%d%d%d%), lr: ", lines[5])
      assert.matches("^validation, acc: %d%.%d%d%d, loss: %d%.%d%d%d$", lines[6])
      assert.equal("epoch: 2", lines[7])
      assert.equal(12, #lines)
      -- step 0 of epoch 1 shows the undecayed rate the way Python prints it
      assert.matches(", lr: 0%.001$", lines[2])
      -- the decayed rate after 4 steps: 0.001 / (1 + 1e-3 * 3), shortest repr
      assert.matches(", lr: 0%.0009970089730807579$", lines[4]) -- Python: 0.001 * (1. / (1. + 0.001 * 3))
      -- the training line shows the epoch's accumulated values
      assert.equal(string.format("%.3f", h.accuracy[1]), lines[5]:match("acc: (%S+),"))
      assert.equal(string.format("%.3f", h.val_loss[2]), lines[12]:match("loss: (%S+)$"))
    end)

    it("returns the history table", function()
      lunet.seed(3)
      local X, y = lunet.data.spiral(20, 3)
      local model = spiral_model(lunet.Adam { decay = 1e-2 })
      local h = model:train(X, y, { epochs = 3, batch_size = 32, validation_data = { X, y }, verbose = 0 })
      for _, k in ipairs { "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate" } do
        assert.equal(3, #h[k], k)
      end
      assert.is_true(h.learning_rate[3] < h.learning_rate[1])
      assert.near(0.001 / (1 + 1e-2 * 5), h.learning_rate[3], 1e-15) -- 2 steps per epoch
      local vl, va = model:evaluate(X, y, { verbose = 0 })
      assert.near(vl, h.val_loss[3], 1e-6)
      assert.near(va, h.val_accuracy[3], 1e-12)
    end)

    it("prints nothing with verbose = 0 and one line per epoch with verbose = 2", function()
      lunet.seed(4)
      local X, y = lunet.data.spiral(10, 3)
      local model = spiral_model()
      assert.same({}, capture(function() model:train(X, y, { epochs = 2, verbose = 0 }) end))
      local lines = capture(function() model:train(X, y, { epochs = 2, verbose = 2 }) end)
      assert.equal(2, #lines)
      assert.matches("^Epoch 1/2 %- [%d.]+s %- loss: [%d.]+ %- acc: [%d.]+ %- lr: ", lines[1])
      for _, l in ipairs(lines) do assert.is_nil(l:find("\27", 1, true)) end
    end)

    it("reshuffles each epoch from the seeded generator", function()
      local function run()
        lunet.seed(5)
        local X, y = lunet.data.spiral(20, 3)
        local model = spiral_model()
        local h = model:train(X, y, { epochs = 3, batch_size = 16, shuffle = true, verbose = 0 })
        return h.loss[3], model:predict(X)
      end
      local l1, p1 = run()
      local l2, p2 = run()
      assert.equal(l1, l2)
      assert.equal(0, maxdiff(p1, p2))
      lunet.seed(5)
      local X, y = lunet.data.spiral(20, 3)
      local h = spiral_model():train(X, y, { epochs = 3, batch_size = 16, verbose = 0 })
      assert.are_not.equal(l1, h.loss[3])
    end)

    it("stops with an error naming epoch and step when the loss is not finite", function()
      lunet.seed(6)
      local X, y = lunet.data.spiral(10, 3)
      X:set(4, 1, 0 / 0)
      local model = spiral_model()
      local ok, err = pcall(model.train, model, X, y, { epochs = 2, batch_size = 8, verbose = 0 })
      assert.is_false(ok)
      assert.matches("Model:train: the loss became .* at epoch 1, step 0", err)
      assert.matches("check_finite", err)
      assert.has_no.errors(function() model:train(X, y, { epochs = 1, verbose = 0, check_finite = false }) end)
    end)
  end)

  describe("errors", function()
    local X, y
    before_each(function()
      lunet.seed(7)
      X, y = lunet.data.spiral(5, 3)
    end)

    it("rejects adding a non-layer", function()
      local m = lunet.Model()
      assert.has_error(function() m:add(42) end,
        "Model:add: argument 1 must be a layer or activation (lunet.Dense, lunet.ReLU, ...) or a Lua layer (a table "
        .. "with forward and backward methods), got number")
      assert.error_matches(function() m:add(lunet.Adam()) end, "got lunet.Adam")
    end)

    it("rejects wrong objects in set and unknown keys", function()
      local m = lunet.Model()
      assert.error_matches(function() m:set { loss = lunet.Adam() } end, "Model:set: loss must be a loss object")
      assert.error_matches(function() m:set { optimizer = lunet.MeanSquaredError() } end,
                           "optimizer must be an optimizer")
      assert.error_matches(function() m:set { accuracy = 1 } end, "accuracy must be an accuracy object")
      assert.error_matches(function() m:set { los = lunet.MeanSquaredError() } end, "unknown option 'los'")
    end)

    it("needs finalize before training, and layers before finalize", function()
      local m = lunet.Model()
      assert.error_matches(function() m:finalize() end, "has no layers")
      m:add(lunet.Dense(2, 3))
      assert.error_matches(function() m:train(X, y) end, "call model:finalize%(%) first")
      assert.error_matches(function() m:predict(X) end, "call model:finalize%(%) first")
    end)

    it("checks the chain of layer sizes at finalize", function()
      local m = lunet.Model()
      m:add(lunet.Dense(2, 8)); m:add(lunet.ReLU()); m:add(lunet.Dense(4, 3))
      assert.has_error(function() m:finalize() end,
        "Model:finalize: layer 3 (Dense(4 -> 3)) expects 4 inputs but layer 1 (Dense(2 -> 8)) gives 8")
    end)

    it("names the layer whose input does not fit", function()
      local m = spiral_model()
      local ok, err = pcall(m.train, m, lunet.zeros(15, 5), y, { verbose = 0 })
      assert.is_false(ok)
      assert.matches("Model:train: layer 1 %(Dense%(2 %-> 64%)%): inputs are 15x5, expected 2 columns", err)
      assert.error_matches(function() m:predict(lunet.zeros(3, 7)) end, "Model:predict: layer 1 %(Dense%(2 %-> 64%)%)")
    end)

    it("rejects mismatched sample counts, labels out of range and bad options", function()
      local m = spiral_model()
      assert.error_matches(function() m:train(X, lunet.ones(4), { verbose = 0 }) end, "X has 15 samples but y has 4")
      local bad = y:clone(); bad:set(2, 4)
      assert.error_matches(function() m:train(X, bad, { verbose = 0 }) end, "label")
      assert.error_matches(function() m:train(X, y, { batch_size = 0 }) end, "batch_size' must be >= 1")
      assert.error_matches(function() m:train(X, y, { epochs = 1.5 }) end, "epochs' must be an integer")
      assert.error_matches(function() m:train(X, y, { epoch = 1 }) end, "unknown option 'epoch'")
      assert.error_matches(function() m:train(X, y, { verbose = 3 }) end, "verbose")
      assert.error_matches(function() m:train(X, y, { validation_data = { X } }) end, "validation_data")
      assert.error_matches(function() m:predict(X, { batch_size = -1 }) end, "batch_size must be positive")
      assert.error_matches(function() m:train("X", y) end, "X must be a tensor")
    end)

    it("leaves the model usable after a failed call", function()
      local m = spiral_model()
      pcall(m.train, m, lunet.zeros(15, 5), y, { verbose = 0 })
      pcall(m.train, m, X, lunet.ones(4), { verbose = 0 })
      local h = m:train(X, y, { epochs = 2, verbose = 0 })
      assert.equal(2, #h.loss)
      assert.same({ 15, 3 }, { m:predict(X):shape() })
    end)
  end)

  describe("parameters and files", function()
    it("get_parameters/set_parameters copy weights between models", function()
      lunet.seed(8)
      local X = lunet.data.spiral(10, 3)
      local a, b = spiral_model(), spiral_model()
      assert.is_true(maxdiff(a:predict(X), b:predict(X)) > 0)
      b:set_parameters(a:get_parameters())
      assert.equal(0, maxdiff(a:predict(X), b:predict(X)))
      local p = a:get_parameters()
      assert.equal(2, #p)
      assert.same({ 2, 64 }, { p[1][1]:shape() })
      assert.same({ 1, 3 }, { p[2][2]:shape() })
      assert.error_matches(function() b:set_parameters({ p[1] }) end, "got 1 parameter sets for 2 trainable layers")
      assert.error_matches(function() b:set_parameters({ p[2], p[1] }) end,
                           "entry 1: weights are 64x3, the layer has 2x64")
    end)

    it("save_parameters/load_parameters round trip", function()
      lunet.seed(9)
      local X = lunet.data.spiral(10, 3)
      local a, b = spiral_model(), spiral_model()
      local path = tmpfile()
      a:save_parameters(path)
      b:load_parameters(path)
      assert.equal(0, maxdiff(a:predict(X), b:predict(X)))
      local small = lunet.Model()
      small:add(lunet.Dense(2, 8)); small:finalize()
      assert.error_matches(function() small:load_parameters(path) end,
                           "is 2x64, layer 1 %(Dense%(2 %-> 8%)%) needs 2x8")
      os.remove(path)
    end)

    it("save/load round trip gives identical predictions and settings", function()
      lunet.seed(10)
      local X, y = lunet.data.spiral(20, 3)
      local m = lunet.Model()
      m:add(lunet.Dense(2, 16, { weight_regularizer_l2 = 5e-4, bias_regularizer_l1 = 1e-4 }))
      m:add(lunet.ReLU())
      m:add(lunet.Dropout(0.1))
      m:add(lunet.Dense(16, 3))
      m:add(lunet.Softmax())
      m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.01, decay = 1e-3 },
              accuracy = lunet.CategoricalAccuracy() }
      m:finalize()
      m:train(X, y, { epochs = 3, batch_size = 16, verbose = 0 })
      local path = tmpfile()
      m:save(path)
      local l = lunet.Model.load(path)
      assert.equal(0, maxdiff(m:predict(X), l:predict(X)))
      assert.equal(tostring(m.optimizer), tostring(l.optimizer))
      assert.equal(m.optimizer.iterations, l.optimizer.iterations)
      assert.equal(m.optimizer.current_learning_rate, l.optimizer.current_learning_rate)
      assert.equal(5, #l.layers)
      assert.equal("Dropout(0.1)", tostring(l.layers[3]))
      assert.equal(5e-4, l.layers[1].weight_regularizer_l2)
      local vl1 = m:evaluate(X, y, { verbose = 0 })
      local vl2 = l:evaluate(X, y, { verbose = 0 })
      assert.near(vl1, vl2, 1e-7)
      os.remove(path)
    end)

    for _, case in ipairs {
      { "Adam", function() return lunet.Adam { learning_rate = 0.02, decay = 1e-2 } end },
      { "SGD with momentum", function() return lunet.SGD { learning_rate = 0.5, decay = 1e-2, momentum = 0.9 } end },
      { "RMSprop", function() return lunet.RMSprop { learning_rate = 0.01, decay = 1e-3 } end },
      { "Adagrad", function() return lunet.Adagrad { learning_rate = 0.5 } end },
    } do
      it("resumes training after load exactly like uninterrupted training (" .. case[1] .. ")", function()
        lunet.seed(11)
        local X, y = lunet.data.spiral(20, 3)
        lunet.seed(12)
        local a = spiral_model(case[2]())
        lunet.seed(12)
        local b = spiral_model(case[2]())
        a:train(X, y, { epochs = 4, batch_size = 16, verbose = 0 })
        b:train(X, y, { epochs = 2, batch_size = 16, verbose = 0 })
        local path = tmpfile()
        b:save(path)
        local c = lunet.Model.load(path)
        os.remove(path)
        c:train(X, y, { epochs = 2, batch_size = 16, verbose = 0 })
        local pa, pc = a:get_parameters(), c:get_parameters()
        for i = 1, 2 do
          assert.equal(0, maxdiff(pa[i][1], pc[i][1]))
          assert.equal(0, maxdiff(pa[i][2], pc[i][2]))
        end
        assert.equal(a.optimizer.iterations, c.optimizer.iterations)
      end)
    end

    it("save/load keeps a regression model's accuracy precision", function()
      lunet.seed(13)
      local X, y = lunet.data.sine(200)
      local m = lunet.Model()
      m:add(lunet.Dense(1, 8)); m:add(lunet.ReLU()); m:add(lunet.Dense(8, 1)); m:add(lunet.Linear())
      m:set { loss = lunet.MeanSquaredError(), optimizer = lunet.Adam(), accuracy = lunet.RegressionAccuracy() }
      m:finalize()
      m:train(X, y, { epochs = 2, verbose = 0 })
      local path = tmpfile()
      m:save(path)
      local l = lunet.Model.load(path)
      os.remove(path)
      assert.equal(m.accuracy.precision, l.accuracy.precision)
      local _, a1 = m:evaluate(X, y, { verbose = 0 })
      local _, a2 = l:evaluate(X, y, { verbose = 0 })
      assert.equal(a1, a2)
    end)

    it("raises naming the path when loading a missing or foreign file", function()
      assert.error_matches(function() lunet.Model.load("/nonexistent/m.safetensors") end,
        "lunet.Model.load: /nonexistent/m.safetensors: No such file")
      local a = spiral_model()
      local path = tmpfile()
      a:save_parameters(path)
      assert.error_matches(function() lunet.Model.load(path) end, "no lunet model metadata")
      os.remove(path)
    end)
  end)

  describe("printing", function()
    it("lunet.float_repr prints numbers as Python does", function()
      assert.equal("1.0", lunet.float_repr(1))
      assert.equal("0.001", lunet.float_repr(0.001))
      assert.equal("0.0009970089730807579", lunet.float_repr(0.001 * (1 / (1 + 0.001 * 3))))
      assert.equal("5e-07", lunet.float_repr(5e-7))
      assert.equal("0.1", lunet.float_repr(0.1))
      assert.equal("nan", lunet.float_repr(0 / 0))
    end)

    it("tostring and summary show the Keras-style table", function()
      local m = spiral_model()
      local s = tostring(m)
      assert.matches("Layer %(type%)%s+Output Shape%s+Param #", s)
      assert.matches("1 Dense%(2 %-> 64%)%s+%(None, 64%)%s+192", s)
      assert.matches("3 Dense%(64 %-> 3%)%s+%(None, 3%)%s+195", s)
      assert.matches("Total params: 387", s)
      local lines = capture(function() m:summary() end)
      assert.equal(s, lines[1])
    end)
  end)
end)

describe("Fashion-MNIST (the book's data)", function()
  local dir = "/usr/share/datasets/fashion-mnist"
  local f = io.open(dir .. "/train-labels-idx1-ubyte.gz", "rb")
  if f then f:close() end
  local run = f and it or pending
  run("trains 784-128-128-10 on 2,000 samples above 0.7 validation accuracy", function()
    lunet.seed(0)
    local X, y, X_test, y_test = lunet.data.fashion_mnist()
    X, y = lunet.data.shuffle(X:rows(1, 10000), y:rows(1, 10000))
    X, y = X:rows(1, 2000):clone(), y:rows(1, 2000):clone()
    X:sub_(127.5):div_(127.5)
    local Xv = (X_test:rows(1, 1000) - 127.5) / 127.5
    local yv = y_test:rows(1, 1000)
    local m = lunet.Model()
    m:add(lunet.Dense(784, 128)); m:add(lunet.ReLU())
    m:add(lunet.Dense(128, 128)); m:add(lunet.ReLU())
    m:add(lunet.Dense(128, 10)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { decay = 1e-3 },
            accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    local h = m:train(X, y, { epochs = 5, batch_size = 128, validation_data = { Xv, yv }, verbose = 0 })
    assert.is_true(h.val_accuracy[5] > 0.7, "validation accuracy " .. h.val_accuracy[5])
  end)
end)
