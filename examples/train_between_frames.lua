-- Training a little at a time, as a game or tool does between frames:
-- model:trainer(X, y, options) takes train's options and job:step(n) does at
-- most n batches of work (training steps or batches of validation), so each
-- frame spends well under a millisecond on it.  A scheduler of coroutines
-- stands for the game's main loop: one coroutine "renders" every frame,
-- another trains a step per frame, and the numbers are exactly model:train's.
-- Run: lua5.4 examples/train_between_frames.lua [epochs]   (from the repository, after `make`)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local epochs = tonumber(arg and arg[1]) or 100
lunet.seed(0)
local X, y = lunet.data.spiral(300, 3)
local X_val, y_val = lunet.data.spiral(100, 3)

local model = lunet.Model()
model:add(lunet.Dense(2, 64)); model:add(lunet.ReLU())
model:add(lunet.Dense(64, 3)); model:add(lunet.Softmax())
model:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.05, decay = 1e-4 },
            accuracy = lunet.CategoricalAccuracy() }
model:finalize()

local job = model:trainer(X, y, { epochs = epochs, batch_size = 32, shuffle = true,
                                  validation_data = { X_val, y_val }, verbose = 0 })

-- the "game": two tasks resumed once per frame
local frame, times, shown = 0, {}, 0
local tasks = {
  coroutine.create(function() -- training: one batch of work per frame
    while true do
      local t0 = lunet.now()
      local done, epoch = job:step(1)
      times[#times + 1] = lunet.now() - t0
      if done then return end
      if epoch % 25 == 0 and epoch > shown then
        shown = epoch
        print(string.format("frame %5d: epoch %d", frame, epoch))
      end
      coroutine.yield()
    end
  end),
  coroutine.create(function() -- "rendering": whatever else the frame does
    while true do coroutine.yield() end
  end),
}
while coroutine.status(tasks[1]) ~= "dead" do
  frame = frame + 1
  for _, t in ipairs(tasks) do assert(coroutine.resume(t)) end
end

local h = job.history
table.sort(times)
print(string.format("%d frames; job:step(1) took %.3f ms (median), %.3f ms (95th percentile)", frame,
  times[#times // 2] * 1000, times[math.ceil(#times * 0.95)] * 1000))
print(string.format("epoch %d: loss %.3f, acc %.3f, val_acc %.3f", #h.loss, h.loss[#h.loss],
  h.accuracy[#h.accuracy], h.val_accuracy[#h.val_accuracy]))
assert(h.loss[#h.loss] < 0.9 * h.loss[1] and h.val_accuracy[#h.val_accuracy] > 0.45, "the network should be learning")
