local lunet = require "lunet"
local check = require "helpers.check"
local read_file, error_of = check.readall, check.err
local callbacks = lunet.callbacks or require "lunet.callbacks"

-- A stand-in for Model: one "layer" whose weights and biases hold the epoch number,
-- written in place (so a callback that keeps references instead of clones is caught).
local function fake_model()
  local m = { w = lunet.zeros(2, 3), b = lunet.zeros(1, 3), saved = {}, restored = 0 }
  function m:get_parameters() return { { self.w, self.b } } end
  function m:set_parameters(p)
    self.restored = self.restored + 1
    self.w:copy_(p[1][1])
    self.b:copy_(p[1][2])
  end
  function m:save(path) self.saved[#self.saved + 1] = path end
  function m:fake_epoch(e) self.w:fill_(e); self.b:fill_(-e) end
  return m
end

-- The Model's training loop as the contract describes it; `series` lists the logs per epoch.
local function run(list, model, series)
  callbacks.call_begin(list, model)
  local ran, logs = 0, nil
  for epoch = 1, #series do
    model:fake_epoch(epoch)
    logs = series[epoch]
    ran = epoch
    if not callbacks.call_epoch_end(list, model, epoch, logs) then break end
  end
  callbacks.call_end(list, model, logs)
  return ran
end

-- logs with only val_loss (plus the always-present keys)
local function losses(...)
  local out = {}
  for i, v in ipairs{ ... } do
    out[i] = { loss = v, accuracy = 0.5, learning_rate = 0.001, val_loss = v, val_accuracy = 0.5 }
  end
  return out
end

local function accuracies(...)
  local out = {}
  for i, v in ipairs{ ... } do
    out[i] = { loss = 1, accuracy = v, learning_rate = 0.001, val_loss = 1, val_accuracy = v }
  end
  return out
end

describe("lunet.callbacks", function()
  describe("call_epoch_end()", function()
    it("stops when a plain function returns false and goes on when it returns nil", function()
      local seen = {}
      local list = {
        function(epoch, logs) seen[#seen + 1] = epoch .. ":" .. logs.loss end,
        function(epoch) if epoch == 3 then return false end end,
      }
      local n = run(list, fake_model(), losses(4, 3, 2, 1, 0))
      assert.equal(3, n)
      assert.same({ "1:4", "2:3", "3:2" }, seen)
    end)

    it("runs every callback even after one asked to stop", function()
      local calls = {}
      local stopper = { on_epoch_end = function() calls[#calls + 1] = "stop"; return false end }
      local after = { on_epoch_end = function(_, _, e) calls[#calls + 1] = "after" .. e end }
      assert.is_false(callbacks.call_epoch_end({ stopper, after }, fake_model(), 1, {}))
      assert.same({ "stop", "after1" }, calls)
      assert.is_true(callbacks.call_epoch_end(nil, fake_model(), 1, {}))
    end)

    it("calls the object hooks with the model, epoch and logs in order", function()
      local log = {}
      local model = fake_model()
      local obj = {
        on_train_begin = function(self, m) log[#log + 1] = { "begin", m == model, self.tag } end,
        on_epoch_end = function(_, m, e, l) log[#log + 1] = { "epoch", m == model, e, l.loss } end,
        on_train_end = function(_, m, l) log[#log + 1] = { "end", m == model, l.loss } end,
        tag = "me",
      }
      run({ obj }, model, losses(5, 6))
      assert.same({ { "begin", true, "me" }, { "epoch", true, 1, 5 }, { "epoch", true, 2, 6 },
                    { "end", true, 6 } }, log)
    end)

    it("accepts objects whose methods come from a metatable and objects without hooks", function()
      local Class = {}
      Class.__index = Class
      function Class:on_epoch_end() self.n = (self.n or 0) + 1 end
      local obj = setmetatable({}, Class)
      run({ obj, {} }, fake_model(), losses(1, 1, 1))
      assert.equal(3, obj.n)
    end)

    it("rejects entries that are neither functions nor tables", function()
      local m = fake_model()
      assert.matches("Model:train: callbacks[2] must be a function or a callback object, got number",
        error_of(callbacks.call_begin, { function() end, 3 }, m), 1, true)
      assert.matches("Model:train: callbacks[1] must be a function or a callback object, got string",
        error_of(callbacks.call_epoch_end, { "x" }, m, 1, {}), 1, true)
      assert.matches("Model:train: callbacks[1].on_epoch_end must be a function, got number",
        error_of(callbacks.call_end, { { on_epoch_end = 1 } }, m, {}), 1, true)
      assert.matches("Model:train: callbacks must be a list, got number",
        error_of(callbacks.call_begin, 5, m), 1, true)
    end)
  end)

  describe("EarlyStopping", function()
    it("has Keras defaults", function()
      local es = callbacks.EarlyStopping()
      assert.equal("val_loss", es.monitor)
      assert.equal(0, es.patience)
      assert.equal(0, es.min_delta)
      assert.equal("min", es.mode)
      assert.is_false(es.restore_best_weights)
      assert.equal("EarlyStopping(monitor=val_loss, mode=min, patience=0, min_delta=0)", tostring(es))
    end)

    it("stops after `patience` epochs without a lower loss (mode min)", function()
      local es = callbacks.EarlyStopping{ patience = 2 }
      local n = run({ es }, fake_model(), losses(1.0, 0.8, 0.9, 0.85, 0.7, 0.6))
      assert.equal(4, n)
      assert.equal(4, es.stopped_epoch)
      assert.equal(0.8, es.best)
      assert.equal(2, es.best_epoch)
    end)

    it("with patience 0 stops at the first epoch that does not improve", function()
      local es = callbacks.EarlyStopping{ monitor = "loss" }
      assert.equal(3, run({ es }, fake_model(), losses(3, 2, 2, 1)))
      assert.equal(3, es.stopped_epoch)
    end)

    it("counts only improvements larger than min_delta", function()
      local es = callbacks.EarlyStopping{ patience = 1, min_delta = 0.1 }
      assert.equal(2, run({ es }, fake_model(), losses(1.0, 0.95, 0.5)))
      assert.equal(1.0, es.best)
      assert.equal(1, es.best_epoch)
      -- a larger step does count
      es = callbacks.EarlyStopping{ patience = 1, min_delta = 0.1 }
      assert.equal(3, run({ es }, fake_model(), losses(1.0, 0.85, 0.8, 0.5)))
      assert.equal(0.85, es.best)
    end)

    it("maximizes accuracies in auto mode", function()
      local es = callbacks.EarlyStopping{ monitor = "val_accuracy", patience = 2 }
      assert.equal("max", es.mode)
      assert.equal(4, run({ es }, fake_model(), accuracies(0.5, 0.6, 0.6, 0.59, 0.7)))
      assert.equal(0.6, es.best)
      assert.equal(2, es.best_epoch)
      assert.equal(4, es.stopped_epoch)
    end)

    it("uses min_delta upward in max mode", function()
      local es = callbacks.EarlyStopping{ monitor = "accuracy", min_delta = 0.05, patience = 1 }
      assert.equal(3, run({ es }, fake_model(), accuracies(0.5, 0.56, 0.58, 0.9)))
      assert.equal(0.56, es.best)
      assert.equal(2, es.best_epoch)
    end)

    it("honours an explicit mode", function()
      local es = callbacks.EarlyStopping{ monitor = "val_accuracy", mode = "min" }
      assert.equal(2, run({ es }, fake_model(), accuracies(0.5, 0.6, 0.4)))
    end)

    it("does not stop while the value keeps improving", function()
      local es = callbacks.EarlyStopping{ patience = 1 }
      assert.equal(5, run({ es }, fake_model(), losses(5, 4, 3, 2, 1)))
      assert.equal(0, es.stopped_epoch)
      assert.equal(5, es.best_epoch)
    end)

    it("restores the best weights when it stops training", function()
      local model = fake_model()
      local es = callbacks.EarlyStopping{ patience = 2, restore_best_weights = true }
      assert.equal(4, run({ es }, model, losses(1.0, 0.5, 0.7, 0.9, 0.1)))
      assert.equal(1, model.restored)
      assert.same({ { 2, 2, 2 }, { 2, 2, 2 } }, model.w:totable())
      assert.same({ { -2, -2, -2 } }, model.b:totable())
    end)

    it("restores the best weights when the epoch limit ends training", function()
      local model = fake_model()
      local es = callbacks.EarlyStopping{ patience = 5, restore_best_weights = true }
      assert.equal(4, run({ es }, model, losses(1.0, 0.5, 0.7, 0.9)))
      assert.equal(0, es.stopped_epoch)
      assert.equal(2, es.best_epoch)
      assert.same({ { 2, 2, 2 }, { 2, 2, 2 } }, model.w:totable())
    end)

    it("leaves the weights alone without restore_best_weights", function()
      local model = fake_model()
      run({ callbacks.EarlyStopping{ patience = 1 } }, model, losses(1.0, 2.0, 3.0))
      assert.equal(0, model.restored)
      assert.same({ { 2, 2, 2 }, { 2, 2, 2 } }, model.w:totable())
    end)

    it("starts afresh on every training run", function()
      local es = callbacks.EarlyStopping{ patience = 1 }
      run({ es }, fake_model(), losses(0.1, 0.2, 0.3))
      assert.equal(2, es.stopped_epoch)
      assert.equal(3, run({ es }, fake_model(), losses(5, 4, 3)))
      assert.equal(0, es.stopped_epoch)
      assert.equal(3, es.best)
    end)

    it("names the missing key and the available ones", function()
      local es = callbacks.EarlyStopping()
      local err = error_of(run, { es }, fake_model(),
        { { loss = 1, accuracy = 0.5, learning_rate = 0.01 } })
      assert.matches("EarlyStopping: monitored key 'val_loss' is not in logs " ..
        "(available: accuracy, learning_rate, loss) (pass validation_data to train)", err, 1, true)
    end)

    it("checks its options", function()
      assert.matches("EarlyStopping: unknown option 'patiense'",
        error_of(callbacks.EarlyStopping, { patiense = 2 }), 1, true)
      assert.matches("EarlyStopping: option 'patience' must be a number, got string",
        error_of(callbacks.EarlyStopping, { patience = "2" }), 1, true)
      assert.matches("EarlyStopping: option 'patience' must be a non-negative integer, got 1.5",
        error_of(callbacks.EarlyStopping, { patience = 1.5 }), 1, true)
      assert.matches("EarlyStopping: option 'min_delta' must be >= 0, got -0.1",
        error_of(callbacks.EarlyStopping, { min_delta = -0.1 }), 1, true)
      assert.matches("EarlyStopping: option 'mode' must be 'auto', 'min' or 'max', got 'mn'",
        error_of(callbacks.EarlyStopping, { mode = "mn" }), 1, true)
      assert.matches("EarlyStopping: option 'restore_best_weights' must be a boolean, got number",
        error_of(callbacks.EarlyStopping, { restore_best_weights = 1 }), 1, true)
      assert.matches("EarlyStopping: options must be a table, got number",
        error_of(callbacks.EarlyStopping, 3), 1, true)
    end)
  end)

  describe("ModelCheckpoint", function()
    it("saves after every epoch, replacing {epoch}", function()
      local model = fake_model()
      local mc = callbacks.ModelCheckpoint{ path = "/tmp/ckpt-{epoch}.safetensors" }
      run({ mc }, model, losses(3, 4, 2))
      assert.same({ "/tmp/ckpt-1.safetensors", "/tmp/ckpt-2.safetensors",
                    "/tmp/ckpt-3.safetensors" }, model.saved)
      assert.equal("/tmp/ckpt-3.safetensors", mc.last_path)
    end)

    it("defaults to model.safetensors, overwritten each epoch", function()
      local model = fake_model()
      run({ callbacks.ModelCheckpoint() }, model, losses(1, 2))
      assert.same({ "model.safetensors", "model.safetensors" }, model.saved)
    end)

    it("saves only on improvement with save_best_only", function()
      local model = fake_model()
      local mc = callbacks.ModelCheckpoint{ path = "m{epoch}", save_best_only = true }
      run({ mc }, model, losses(1.0, 0.8, 0.9, 0.7, 0.7))
      assert.same({ "m1", "m2", "m4" }, model.saved)
      assert.equal(0.7, mc.best)
      assert.equal(4, mc.best_epoch)
    end)

    it("maximizes accuracies with save_best_only", function()
      local model = fake_model()
      run({ callbacks.ModelCheckpoint{ path = "a{epoch}", monitor = "val_accuracy",
                                       save_best_only = true } },
          model, accuracies(0.5, 0.4, 0.6, 0.6))
      assert.same({ "a1", "a3" }, model.saved)
    end)

    it("formats {epoch:03d} and logs values", function()
      local model = fake_model()
      run({ callbacks.ModelCheckpoint{ path = "e{epoch:03d}-{val_loss:.2f}-{loss}.st" } },
          model, losses(0.25, 0.125))
      assert.same({ "e001-0.25-0.25.st", "e002-0.12-0.125.st" }, model.saved)
    end)

    it("explains a placeholder that is not in logs", function()
      local err = error_of(run, { callbacks.ModelCheckpoint{ path = "m{val_acc}" } },
        fake_model(), losses(1))
      assert.matches("ModelCheckpoint: path 'm{val_acc}' uses {val_acc}, which is not in logs", err,
        1, true)
    end)

    it("checks its options", function()
      assert.matches("ModelCheckpoint: unknown option 'filepath'",
        error_of(callbacks.ModelCheckpoint, { filepath = "x" }), 1, true)
      assert.matches("ModelCheckpoint: option 'save_best_only' must be a boolean, got string",
        error_of(callbacks.ModelCheckpoint, { save_best_only = "yes" }), 1, true)
      assert.matches("ModelCheckpoint: option 'mode' must be 'auto', 'min' or 'max', got 'big'",
        error_of(callbacks.ModelCheckpoint, { mode = "big" }), 1, true)
    end)
  end)

  describe("CSVLogger", function()
    local path
    before_each(function() path = os.tmpname() end)
    after_each(function() os.remove(path) end)

    it("writes a header of sorted keys and one row per epoch, flushed each epoch", function()
      local log = callbacks.CSVLogger{ path = path }
      local model = fake_model()
      callbacks.call_begin({ log }, model)
      callbacks.call_epoch_end({ log }, model, 1,
        { loss = 0.5, accuracy = 0.25, learning_rate = 0.001, val_loss = 0.75, val_accuracy = 0.1 })
      assert.equal("epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n" ..
                   "1,0.25,0.001,0.5,0.1,0.75\n", read_file(path))
      callbacks.call_epoch_end({ log }, model, 2,
        { loss = 1 / 3, accuracy = 1, learning_rate = 0.0009090909090909091, val_loss = 2,
          val_accuracy = 0 })
      callbacks.call_end({ log }, model, {})
      assert.is_nil(log.file)
      assert.equal("epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n" ..
                   "1,0.25,0.001,0.5,0.1,0.75\n" ..
                   "2,1,0.0009090909090909091,0.3333333333333333,0,2\n", read_file(path))
    end)

    it("uses the separator and truncates an earlier file", function()
      local f = assert(io.open(path, "w")); f:write("old\n"); f:close()
      run({ callbacks.CSVLogger{ path = path, separator = ";" } }, fake_model(),
        { { loss = 2, accuracy = 0.5 }, { loss = 1.5, accuracy = 0.75 } })
      assert.equal("epoch;accuracy;loss\n1;0.5;2\n2;0.75;1.5\n", read_file(path))
    end)

    it("appends without a second header", function()
      local log = callbacks.CSVLogger{ path = path, append = true }
      run({ log }, fake_model(), { { loss = 2 } })
      run({ log }, fake_model(), { { loss = 1 } })
      assert.equal("epoch,loss\n1,2\n1,1\n", read_file(path))
    end)

    it("writes NA for a key missing in a later epoch", function()
      run({ callbacks.CSVLogger{ path = path } }, fake_model(),
        { { loss = 2, val_loss = 3 }, { loss = 1 } })
      assert.equal("epoch,loss,val_loss\n1,2,3\n2,1,NA\n", read_file(path))
    end)

    it("raises with the path when the file cannot be opened", function()
      local err = error_of(run, { callbacks.CSVLogger{ path = "/nonexistent-dir/t.csv" } },
        fake_model(), { { loss = 1 } })
      assert.matches("CSVLogger: cannot open '/nonexistent-dir/t.csv': ", err, 1, true)
    end)

    it("closes the file through __close", function()
      local log = callbacks.CSVLogger{ path = path }
      do
        local l <close> = log
        l:on_train_begin()
        l:on_epoch_end(nil, 1, { loss = 1 })
      end
      assert.is_nil(log.file)
      assert.equal("epoch,loss\n1,1\n", read_file(path))
    end)

    it("checks its options", function()
      assert.matches("CSVLogger: unknown option 'sep'",
        error_of(callbacks.CSVLogger, { sep = ";" }), 1, true)
      assert.matches("CSVLogger: option 'append' must be a boolean, got string",
        error_of(callbacks.CSVLogger, { append = "no" }), 1, true)
      assert.matches("CSVLogger: option 'separator' must not be empty",
        error_of(callbacks.CSVLogger, { separator = "" }), 1, true)
    end)
  end)
end)

describe("lunet.callbacks with the real Model", function()
  if not (lunet.Model and lunet.data and lunet.data.spiral) then
    pending("lunet.Model or lunet.data.spiral is not available")
    return
  end

  it("stops early, restores the best weights, logs and checkpoints", function()
    lunet.seed(3)
    local X, y = lunet.data.spiral(30, 3)
    local Xv, yv = lunet.data.spiral(20, 3)
    local model = lunet.Model()
    model:add(lunet.Dense(2, 16)); model:add(lunet.ReLU())
    model:add(lunet.Dense(16, 3)); model:add(lunet.Softmax())
    model:set{ loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam{ learning_rate = 0.05 },
               accuracy = lunet.CategoricalAccuracy() }
    model:finalize()
    local dir = os.tmpname()
    local es = callbacks.EarlyStopping{ patience = 3, restore_best_weights = true }
    local csv = callbacks.CSVLogger{ path = dir .. "-log.csv" }
    local ck = callbacks.ModelCheckpoint{ path = dir .. "-{epoch}.safetensors", save_best_only = true }
    local h = model:train(X, y, { epochs = 60, validation_data = { Xv, yv }, verbose = 0,
                                  callbacks = { es, csv, ck } })
    local epochs = #h.loss
    assert.is_true(epochs >= es.best_epoch + 1 and epochs <= 60)
    if epochs < 60 then assert.equal(es.best_epoch + 3, es.stopped_epoch) end
    -- the restored weights give the best validation loss again
    local vl = model:evaluate(Xv, yv, { verbose = 0 })
    assert.near(es.best, vl, 1e-6)
    assert.near(h.val_loss[es.best_epoch], vl, 1e-6)
    -- one CSV row per epoch, after the header
    local rows = 0
    for line in io.lines(dir .. "-log.csv") do rows = rows + 1; assert.is_true(#line > 10) end
    assert.equal(epochs + 1, rows)
    -- the last checkpoint is the best epoch's model
    assert.equal(dir .. "-" .. es.best_epoch .. ".safetensors", ck.last_path)
    local loaded = lunet.Model.load(ck.last_path)
    assert.near(es.best, (loaded:evaluate(Xv, yv, { verbose = 0 })), 1e-6)
    for e = 1, epochs do os.remove(dir .. "-" .. e .. ".safetensors") end
    os.remove(dir .. "-log.csv")
    os.remove(dir)
  end)
end)
