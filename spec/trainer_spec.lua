-- model:trainer(X, y, options) and job:step(n) (API.md, issue 11): train's
-- work a little at a time, with train's numbers, printing and callbacks.
local lunet = require "lunet"
local check = require "helpers.check"

local capture = check.capture

local function model()
  lunet.seed(21)
  local m = lunet.Model()
  m:add(lunet.Dense(2, 32)); m:add(lunet.ReLU()); m:add(lunet.Dropout(0.1)); m:add(lunet.Dense(32, 3))
  m:add(lunet.Softmax())
  m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.02 },
          accuracy = lunet.CategoricalAccuracy() }
  return m:finalize()
end

local function data()
  lunet.seed(3)
  local X, y = lunet.data.spiral(50, 3)
  local Xv, yv = lunet.data.spiral(20, 3)
  return X, y, Xv, yv
end

describe("model:trainer", function()
  it("gives train's history, printing, callbacks and parameters, one batch per step", function()
    local X, y, Xv, yv = data()
    local calls_a, calls_b = {}, {}
    local function opts(calls)
      return { epochs = 3, batch_size = 32, shuffle = true, validation_data = { Xv, yv }, print_every = 2,
               callbacks = { function(epoch, logs) calls[#calls + 1] = { epoch, logs.loss } end } }
    end
    local a, b = model(), model()
    local ha
    lunet.seed(9)
    local printed_a = capture(function() ha = a:train(X, y, opts(calls_a)) end)
    lunet.seed(9)
    local job = b:trainer(X, y, opts(calls_b))
    local units, last = 0, nil
    local printed_b = capture(function()
      while true do
        local done, epoch, step = job:step(1)
        if done then break end
        units = units + 1
        assert(epoch >= 1 and epoch <= 3 and step >= 0 and step <= 4)
        last = { epoch, step }
      end
    end)
    assert.same({ 3, 4 }, last)
    assert.equal(3 * (5 + 2), units) -- 150 rows in 5 steps, 60 validation rows in 2 batches, per epoch
    assert.same(printed_a, printed_b)
    assert.same(ha, job.history)
    assert.same(calls_a, calls_b)
    local pa, pb = a:get_parameters(), b:get_parameters()
    for i = 1, #pa do
      for k = 1, 2 do assert.equal(0, (pa[i][k] - pb[i][k]):abs():max()) end
    end
    assert.same({ true, 3, 4 }, { job:step(5) })
  end)

  it("does at most n batches per call and reports where it stands", function()
    local X, y = data()
    local job = model():trainer(X, y, { epochs = 2, batch_size = 50, verbose = 0 })
    assert.same({ false, 1, 0 }, { job:step() })
    assert.same({ false, 1, 2 }, { job:step(2) })
    assert.same({ false, 2, 2 }, { job:step(3) })
    assert.same({ true, 2, 2 }, { job:step(10) })
    assert.equal(2, #job.history.loss)
  end)

  it("raises at creation on bad options and at the step that fails, then stays stopped", function()
    local X, y = data()
    local m = model()
    check.error_has("Model:trainer: unknown option 'epoch'", m.trainer, m, X, y, { epoch = 2 })
    check.error_has("Model:trainer: option 'batch_size' must be >= 1, got 0", m.trainer, m, X, y, { batch_size = 0 })
    check.error_has("Model:trainer: self must be a lunet.Model", m.trainer, X, y)
    local bad = y:clone()
    bad:set(140, 7)
    local job = m:trainer(X, bad, { batch_size = 32, verbose = 0 })
    for _ = 1, 4 do job:step(1) end
    check.error_has("label 7 at row 140 of y is outside 1..3", job.step, job, 1)
    check.error_has("TrainingJob:step: the job stopped with an error: ", job.step, job, 1)
    check.error_has("option 'n' must be >= 1, got 0", job.step, job, 0)
  end)
end)
