-- Chapter 5, "Calculating Network Error with Loss": categorical
-- cross-entropy by hand (labels are 1-based in lunet: the book's class 0 is
-- label 1), the clipped mean loss, then accuracy.
-- Run: lua5.4 examples/book/ch05_loss.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"
local lunet = check.lunet

-- one sample: -sum(target * log(output))
local softmax_output = lunet.tensor { 0.7, 0.1, 0.2 }
local target_output = lunet.tensor { 1, 0, 0 }
local loss = -(target_output * softmax_output:log()):sum()
print(loss)
check.close("one sample's loss", loss, 0.35667494393873245, 1e-7)

-- a batch with class labels (the book's [0, 1, 1])
local softmax_outputs = lunet.tensor { { 0.7, 0.1, 0.2 }, { 0.1, 0.5, 0.4 }, { 0.02, 0.9, 0.08 } }
local class_targets = lunet.tensor { 1, 2, 2 }
local onehot = lunet.data.one_hot(class_targets, 3)
local confidences = (softmax_outputs * onehot):sum(2) -- softmax_outputs[range(3), class_targets]
print(confidences)
check.close("correct confidences", confidences, { { 0.7 }, { 0.5 }, { 0.9 } }, 1e-7)
local neg_log = -confidences:log()
local average_loss = neg_log:mean()
print(average_loss)
check.close("-log of each", neg_log, { { 0.35667494 }, { 0.69314718 }, { 0.10536052 } }, 1e-6)
check.close("the mean loss", average_loss, 0.38506088005216804, 1e-7)
-- clipping keeps log(0) away: np.clip(y_pred, 1e-7, 1 - 1e-7)
local clipped = lunet.tensor { { 1, 0, 0 } }:clamp(1e-7, 1 - 1e-7)
check.that("clipped log is finite", (-clipped:log()):max() < 17)
-- the Loss class gives the same
local cce = lunet.CategoricalCrossentropy()
check.close("CategoricalCrossentropy with labels", cce:calculate(softmax_outputs, class_targets), average_loss, 1e-6)
check.close("CategoricalCrossentropy with one-hot rows", cce:calculate(softmax_outputs, onehot), average_loss, 1e-6)

-- accuracy: np.mean(np.argmax(softmax_outputs, axis=1) == class_targets)
local predictions = softmax_outputs:argmax(2):squeeze(2)
local accuracy = predictions:eq(class_targets):mean()
print("acc:", accuracy)
check.close("accuracy", accuracy, 1.0)
check.done(5)
