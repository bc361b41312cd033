--- lunet.model_files: Model:save, save_parameters, load_parameters and
-- lunet.Model.load (the Lua half of lunet.Model's files; lua/lunet/model.lua
-- installs them with its helpers).  Files are safetensors with the
-- architecture's JSON in the metadata (doc/api.md, "Files").
local core = require "lunet.core"

return function(M, methods, h)
  local checkcall, kind, typename, rethrow, isfinite = h.checkcall, h.kind, h.typename, h.rethrow, h.isfinite
  local shapestr, describe, is_lua_layer, lua_params = h.shapestr, h.describe, h.is_lua_layer, h.lua_params


  local safetensors = setmetatable({}, { __index = function(_, k) return core.safetensors[k] end })

  -- positions (in model.layers) of the trainable layers: those with weights
  -- (Dense, Conv2D, BatchNormalization), and Lua layers listing params
  local function trainable_positions(self)
    local pos, layers = {}, self.layers
    for i, l in ipairs(layers) do
      if is_lua_layer(l) then
        if #lua_params(l) > 0 then pos[#pos + 1] = { i, l } end
      elseif l.weights then pos[#pos + 1] = { i, l } end
    end
    return pos
  end

  -- the file names and tensors of layer i's parameters: layers.<i>.weights and
  -- .biases for a Dense, layers.<i>.params.<j> for a Lua layer
  local function named_parameters(i, l)
    if is_lua_layer(l) then
      local list = {}
      for j, t in ipairs(lua_params(l)) do list[j] = { string.format("layers.%d.params.%d", i, j), t } end
      return list
    end
    local list = { { string.format("layers.%d.weights", i), l.weights },
                   { string.format("layers.%d.biases", i), l.biases } }
    if l.running_mean then -- batch normalisation's statistics travel with its parameters
      list[3] = { string.format("layers.%d.running_mean", i), l.running_mean }
      list[4] = { string.format("layers.%d.running_var", i), l.running_var }
    end
    return list
  end

  local function parameter_tensors(self, tensors)
    for _, p in ipairs(trainable_positions(self)) do
      for _, nt in ipairs(named_parameters(p[1], p[2])) do tensors[nt[1]] = nt[2] end
    end
    return tensors
  end

  --- model:save_parameters(path): weights and biases as safetensors
  -- PyTorch's layout (API.md "Interchange and embedding"): the layer at
  -- position i is module i-1 of a torch.nn.Sequential, Input layers left out
  -- (they declare a shape and compute nothing: PyTorch has no such module);
  -- each entry is { name, shape, get() -> tensor or integer, set(value) }
  local function torch_entries(self, who)
    local list, inputs = {}, 0
    local function add(name, shape, get, set) list[#list + 1] = { name, shape, get, set } end
    for i, l in ipairs(self.layers) do
      local k = kind(l)
      if k == "Input" then inputs = inputs + 1 end
      local m = i - 1 - inputs
      if is_lua_layer(l) then
        if #lua_params(l) > 0 then
          error(string.format("%s: layer %d (%s) has parameters but no PyTorch module to map them to (layout "
            .. "\"torch\" covers the built-in layers)", who, i, describe(l)), 3)
        end
      elseif k == "Dense" then
        local nin, nout = l.n_inputs, l.n_neurons
        add(m .. ".weight", { nout, nin }, function() return l.weights:t() end,
            function(t) l.weights:copy_(t:t()) end)
        add(m .. ".bias", { nout }, function() return l.biases:view(nout) end,
            function(t) l.biases:copy_(t:view(1, nout)) end)
      elseif k == "Conv2D" then
        local out = l.out_channels
        add(m .. ".weight", { l.weights:shape() }, function() return l.weights end,
            function(t) l.weights:copy_(t) end)
        add(m .. ".bias", { out }, function() return l.biases:view(out) end,
            function(t) l.biases:copy_(t:view(1, out)) end)
      elseif k == "BatchNormalization" then
        local f = l.features
        if not f then
          error(string.format("%s: layer %d (BatchNormalization) has no sizes yet (declare lunet.Input, give it "
            .. "the option features, or train first)", who, i), 3)
        end
        for _, pair in ipairs { { "weight", "weights" }, { "bias", "biases" }, { "running_mean", "running_mean" },
                                { "running_var", "running_var" } } do
          add(m .. "." .. pair[1], { f }, function() return l[pair[2]]:view(f) end,
              function(t) l[pair[2]]:copy_(t:view(1, f)) end)
        end
        add(m .. ".num_batches_tracked", "I64", function() return l.num_batches_tracked end,
            function(v) l:set_running(l.running_mean, l.running_var, v) end)
      end
    end
    return list
  end

  -- the layout option of save_parameters / load_parameters: "lunet" or "torch"
  local function layout_of(options, who)
    if options == nil then return "lunet" end
    if type(options) ~= "table" then error(who .. ": options must be a table, got " .. typename(options), 3) end
    for key in pairs(options) do
      if key ~= "layout" then error(string.format("%s: unknown option '%s'", who, tostring(key)), 3) end
    end
    local layout = options.layout or "lunet"
    if layout ~= "lunet" and layout ~= "torch" then
      error(who .. ": option 'layout' must be \"lunet\" or \"torch\", got " .. tostring(layout), 3)
    end
    return layout
  end

  --- model:save_parameters(path, { layout = "lunet" }): weights and biases as
  -- safetensors; layout = "torch" names and shapes them as PyTorch's state_dict
  function methods.save_parameters(self, path, options, ...)
    local who = "Model:save_parameters"
    checkcall(self, who, 2, select("#", ...) + 2)
    if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
    if not self.finalized then error(who .. ": call model:finalize() first", 2) end
    if layout_of(options, who) == "torch" then
      local tensors = {}
      for _, e in ipairs(torch_entries(self, who)) do
        local v = e[3]()
        tensors[e[1]] = type(v) == "number" and v or v:clone()
      end
      rethrow(2, who, pcall(safetensors.save, path, tensors,
        { format = "pt", ["lunet.layout"] = "torch", ["lunet.version"] = core.version }))
      return self
    end
    rethrow(2, who, pcall(safetensors.save, path, parameter_tensors(self, {}),
      { format = "lunet.parameters", ["lunet.version"] = core.version }))
    return self
  end

  -- load PyTorch-layout tensors into the model, all checked first
  local function load_torch_tensors(self, tensors, path, who)
    local todo = {}
    for _, e in ipairs(torch_entries(self, who)) do
      local name, shape, v = e[1], e[2], tensors[e[1]]
      if v == nil then error(string.format("%s: %s: tensor '%s' is missing", who, path, name), 3) end
      if shape == "I64" then
        if math.type(v) ~= "integer" or v < 0 then
          error(string.format("%s: %s: tensor '%s' must be a non-negative I64 scalar", who, path, name), 3)
        end
      else
        if math.type(v) then error(string.format("%s: %s: tensor '%s' is an I64 scalar, expected F32 %s", who,
          path, name, table.concat(shape, "x")), 3) end
        local got = table.concat({ v:shape() }, "x")
        if got ~= table.concat(shape, "x") then
          error(string.format("%s: %s: tensor '%s' is %s, the model needs %s", who, path, name, got,
            table.concat(shape, "x")), 3)
        end
      end
      todo[#todo + 1] = { e[4], v }
    end
    for _, pair in ipairs(todo) do pair[1](pair[2]) end
  end

  -- copy the parameters found in `tensors` into the model, all checked first
  local function load_parameter_tensors(self, tensors, path, who)
    local todo = {}
    for _, p in ipairs(trainable_positions(self)) do
      local i, l = p[1], p[2]
      for _, nt in ipairs(named_parameters(i, l)) do
        local name, want = nt[1], nt[2]
        local t = tensors[name]
        if t == nil then error(string.format("%s: %s: tensor '%s' is missing (layer %d, %s)", who, path, name, i,
          describe(l)), 3) end
        if math.type(t) then error(string.format("%s: %s: tensor '%s' is an I64 scalar, layer %d (%s) needs F32",
          who, path, name, i, describe(l)), 3) end
        if table.concat({ t:shape() }, "x") ~= table.concat({ want:shape() }, "x") then
          error(string.format("%s: %s: tensor '%s' is %s, layer %d (%s) needs %s", who, path, name,
            table.concat({ t:shape() }, "x"), i, describe(l), table.concat({ want:shape() }, "x")), 3)
        end
        todo[#todo + 1] = { want, t }
      end
    end
    for _, pair in ipairs(todo) do pair[1]:copy_(pair[2]) end
  end

  --- model:load_parameters(path): weights and biases from a safetensors file
  function methods.load_parameters(self, path, options, ...)
    local who = "Model:load_parameters"
    checkcall(self, who, 2, select("#", ...) + 2)
    if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
    if not self.finalized then error(who .. ": call model:finalize() first", 2) end
    local layout = layout_of(options, who)
    local tensors = rethrow(2, who, pcall(safetensors.load, path))
    if layout == "torch" then load_torch_tensors(self, tensors, path, who)
    else load_parameter_tensors(self, tensors, path, who) end
    return self
  end

  local optimizer_fields = {
    SGD = { "learning_rate", "decay", "momentum" },
    Adagrad = { "learning_rate", "decay", "epsilon" },
    RMSprop = { "learning_rate", "decay", "epsilon", "rho" },
    Adam = { "learning_rate", "decay", "epsilon", "beta_1", "beta_2" },
  }
  local state_names = { "weight_momentums", "weight_cache", "bias_momentums", "bias_cache" }
  local lua_state_names = { "momentums", "cache" } -- a Lua layer's, lists like its params

  -- the architecture entry of layer i; a Lua layer writes its registered
  -- class name and the fields its class lists in class.saved
  local function layer_spec(l, i, who)
    if is_lua_layer(l) then
      local name = core._layer_name(l)
      if not name then
        error(string.format("%s: layer %d is a Lua layer whose class is not registered: call "
          .. "lunet.register_layer(name, class) first (Model.load builds it with class.load(fields))", who, i), 3)
      end
      local class = core._layer_class(name)
      local fields = {}
      for _, f in ipairs(class.saved or {}) do fields[f] = l[f] end
      return { type = "Lua", name = name, fields = fields }
    end
    local k = kind(l)
    if k == "Dense" then
      return { type = k, n_inputs = l.n_inputs, n_neurons = l.n_neurons,
               weight_regularizer_l1 = l.weight_regularizer_l1, weight_regularizer_l2 = l.weight_regularizer_l2,
               bias_regularizer_l1 = l.bias_regularizer_l1, bias_regularizer_l2 = l.bias_regularizer_l2 }
    elseif k == "Dropout" then
      return { type = k, rate = l.rate }
    elseif k == "Conv2D" then
      return { type = k, in_channels = l.in_channels, out_channels = l.out_channels, kernel = l.kernel,
               stride = l.stride, padding = l.padding, init = l.init,
               weight_regularizer_l1 = l.weight_regularizer_l1, weight_regularizer_l2 = l.weight_regularizer_l2,
               bias_regularizer_l1 = l.bias_regularizer_l1, bias_regularizer_l2 = l.bias_regularizer_l2 }
    elseif k == "MaxPool2D" then
      return { type = k, size = l.size, stride = l.stride }
    elseif k == "BatchNormalization" then
      if not l.features then
        error(string.format("%s: layer %d (BatchNormalization) has no sizes yet: declare lunet.Input(...) first, "
          .. "give it the option features, or train before saving", who, i), 3)
      end
      return { type = k, momentum = l.momentum, epsilon = l.epsilon, features = l.features,
               num_batches_tracked = l.num_batches_tracked }
    elseif k == "Input" then
      return { type = k, shape = l.shape }
    end
    return { type = k }
  end

  -- the message for the first number of the architecture v that is not
  -- finite (JSON holds no NaN or infinity, so the file could not be loaded),
  -- or nil; where: the field's path
  local function notfinite(v, where, who, path)
    if type(v) == "number" and not isfinite(v) then
      local hint = where == "accuracy.precision" and " (RegressionAccuracy:init was given targets that are not " ..
        "finite; set model.accuracy.precision to a finite number or init it on finite targets)" or ""
      return string.format("%s: %s: %s is %s, which a model file cannot hold%s", who, path, where,
        v ~= v and "nan" or tostring(v), hint)
    elseif type(v) == "table" then
      for k, x in pairs(v) do
        local msg = notfinite(x, math.type(k) == "integer" and string.format("%s[%d]", where, k)
                                 or (where == "" and k or where .. "." .. k), who, path)
        if msg then return msg end
      end
    end
  end

  --- model:save(path): architecture, parameters, loss/accuracy/optimizer
  -- settings and the optimizer's state, so that training can resume
  function methods.save(self, path, ...)
    local who = "Model:save"
    checkcall(self, who, 1, select("#", ...) + 1)
    if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
    if not self.finalized then error(who .. ": call model:finalize() first", 2) end
    local tensors = parameter_tensors(self, {})
    local spec = { layers = {} }
    for i, l in ipairs(self.layers) do spec.layers[i] = layer_spec(l, i, who) end
    if self.loss then spec.loss = { type = kind(self.loss) } end
    spec.generator = self:_rng_state() -- dropout masks and shuffles resume where they stopped
    local acc = self.accuracy
    if acc then
      spec.accuracy = { type = kind(acc) }
      if kind(acc) == "CategoricalAccuracy" then spec.accuracy.binary = acc.binary
      elseif acc.precision then spec.accuracy.precision = acc.precision end
    end
    local opt = self.optimizer
    if opt then
      local k = kind(opt)
      spec.optimizer = { type = k, iterations = opt.iterations, current_learning_rate = opt.current_learning_rate }
      for _, f in ipairs(optimizer_fields[k] or {}) do spec.optimizer[f] = opt[f] end
      for _, p in ipairs(trainable_positions(self)) do
        local st = opt:state(p[2])
        if st and is_lua_layer(p[2]) then
          for _, s in ipairs(lua_state_names) do
            for j, t in ipairs(st[s] or {}) do tensors[string.format("optimizer.layers.%d.%s.%d", p[1], s, j)] = t end
          end
        elseif st then
          for _, s in ipairs(state_names) do
            if st[s] then tensors[string.format("optimizer.layers.%d.%s", p[1], s)] = st[s] end
          end
        end
      end
    end
    local bad = notfinite(spec, "", who, path)
    if bad then error(bad, 2) end
    rethrow(2, who, pcall(safetensors.save, path, tensors, { format = "lunet.model", ["lunet.version"] = core.version,
                                                             ["lunet.model"] = core._json_encode(spec) }))
    return self
  end

  local layer_types = { Dense = true, Dropout = true, Input = true, ReLU = true, Sigmoid = true, Softmax = true,
                        Linear = true, Lua = true, Conv2D = true, MaxPool2D = true, Flatten = true,
                        BatchNormalization = true }

  -- a positive integer, or a list of n of them
  local function posint(v) return math.type(v) == "integer" and v >= 1 end
  local function intpair(v, allow0)
    if type(v) ~= "table" or #v ~= 2 then return false end
    for _, x in ipairs(v) do
      if math.type(x) ~= "integer" or x < (allow0 and 0 or 1) then return false end
    end
    return true
  end

  -- the tensors a layer's file entry needs: name -> shape
  local function expect_tensor(tensors, name, shape, desc, bad)
    local t = tensors[name]
    if t == nil then bad(string.format("tensor '%s' is missing (%s)", name, desc)) end
    if math.type(t) then bad(string.format("tensor '%s' is an I64 scalar, %s needs F32", name, desc)) end
    if table.concat({ t:shape() }, "x") ~= table.concat(shape, "x") then
      bad(string.format("tensor '%s' is %s, %s needs %s", name, shapestr(t), desc, table.concat(shape, "x")))
    end
  end
  local loss_types = { CategoricalCrossentropy = true, BinaryCrossentropy = true, MeanSquaredError = true,
                       MeanAbsoluteError = true }

  -- check the saved architecture field by field, and each Dense against the
  -- file's tensors, before anything is built (a 2 KB file declaring
  -- Dense(20000 -> 20000) must not allocate 1.5 GB first); bad(msg) raises
  local function checkspec(spec, tensors, bad)
    local function opt(v, want, what)
      if v ~= nil and type(v) ~= want then bad(string.format("%s must be a %s, got %s", what, want, type(v))) end
    end
    if type(spec) ~= "table" then bad("the model metadata is a JSON " .. type(spec) .. ", expected an object") end
    if type(spec.layers) ~= "table" or #spec.layers == 0 then bad("no layers in the metadata") end
    for i, ls in ipairs(spec.layers) do
      if type(ls) ~= "table" then bad(string.format("layer %d is a JSON %s, expected an object", i, type(ls))) end
      if not layer_types[ls.type] then bad(string.format("layer %d has unknown type %s", i, tostring(ls.type))) end
      if ls.type == "Dense" then
        for _, f in ipairs { "n_inputs", "n_neurons" } do
          local v = ls[f]
          if math.type(v) ~= "integer" or v < 1 then
            bad(string.format("layer %d (Dense): %s must be a positive integer, got %s", i, f, tostring(v)))
          end
        end
        for _, f in ipairs { "weight_regularizer_l1", "weight_regularizer_l2", "bias_regularizer_l1",
                             "bias_regularizer_l2" } do
          opt(ls[f], "number", string.format("layer %d (Dense): %s", i, f))
        end
        local desc = string.format("layer %d (Dense(%d -> %d))", i, ls.n_inputs, ls.n_neurons)
        for _, w in ipairs { { "weights", ls.n_inputs, ls.n_neurons }, { "biases", 1, ls.n_neurons } } do
          local name = string.format("layers.%d.%s", i, w[1])
          local t = tensors[name]
          if t == nil then bad(string.format("tensor '%s' is missing (%s)", name, desc)) end
          if math.type(t) then bad(string.format("tensor '%s' is an I64 scalar, %s needs F32", name, desc)) end
          local r, c, more = t:shape()
          if more or r ~= w[2] or c ~= w[3] then
            bad(string.format("tensor '%s' is %s, %s needs %dx%d", name, shapestr(t), desc, w[2], w[3]))
          end
        end
      elseif ls.type == "Dropout" then
        if type(ls.rate) ~= "number" then bad(string.format("layer %d (Dropout): rate must be a number", i)) end
      elseif ls.type == "Conv2D" then
        local where = string.format("layer %d (Conv2D)", i)
        for _, f in ipairs { "in_channels", "out_channels" } do
          if not posint(ls[f]) then bad(string.format("%s: %s must be a positive integer", where, f)) end
        end
        for _, f in ipairs { "kernel", "stride" } do
          if not intpair(ls[f]) then bad(string.format("%s: %s must be a pair of positive integers", where, f)) end
        end
        if ls.padding ~= "same" and not intpair(ls.padding, true) then
          bad(where .. ": padding must be \"same\" or a pair of integers >= 0")
        end
        opt(ls.init, "string", where .. ": init")
        for _, f in ipairs { "weight_regularizer_l1", "weight_regularizer_l2", "bias_regularizer_l1",
                             "bias_regularizer_l2" } do
          opt(ls[f], "number", where .. ": " .. f)
        end
        local desc = string.format("layer %d (Conv2D(%d -> %d))", i, ls.in_channels, ls.out_channels)
        expect_tensor(tensors, string.format("layers.%d.weights", i),
          { ls.out_channels, ls.in_channels, ls.kernel[1], ls.kernel[2] }, desc, bad)
        expect_tensor(tensors, string.format("layers.%d.biases", i), { 1, ls.out_channels }, desc, bad)
      elseif ls.type == "MaxPool2D" then
        if not intpair(ls.size) or not intpair(ls.stride) then
          bad(string.format("layer %d (MaxPool2D): size and stride must be pairs of positive integers", i))
        end
      elseif ls.type == "BatchNormalization" then
        local where = string.format("layer %d (BatchNormalization)", i)
        if not posint(ls.features) then bad(where .. ": features must be a positive integer") end
        opt(ls.momentum, "number", where .. ": momentum")
        opt(ls.epsilon, "number", where .. ": epsilon")
        if ls.num_batches_tracked ~= nil and math.type(ls.num_batches_tracked) ~= "integer" then
          bad(where .. ": num_batches_tracked must be an integer")
        end
        for _, f in ipairs { "weights", "biases", "running_mean", "running_var" } do
          expect_tensor(tensors, string.format("layers.%d.%s", i, f), { 1, ls.features }, where, bad)
        end
      elseif ls.type == "Input" then
        local sh = ls.shape
        if sh ~= nil and (type(sh) ~= "table" or (#sh ~= 1 and #sh ~= 3)) then
          bad(string.format("layer %d (Input): shape must be a list of 1 or 3 positive integers", i))
        end
        for _, v in ipairs(sh or {}) do
          if not posint(v) then bad(string.format("layer %d (Input): shape must hold positive integers", i)) end
        end
      elseif ls.type == "Lua" then
        if type(ls.name) ~= "string" then bad(string.format("layer %d (Lua): name must be a string", i)) end
        if not core._layer_class(ls.name) then
          bad(string.format("layer %d is a Lua layer of class '%s', which is not registered (call "
            .. "lunet.register_layer('%s', class) before Model.load)", i, ls.name, ls.name))
        end
        if ls.fields ~= nil and type(ls.fields) ~= "table" then
          bad(string.format("layer %d (Lua layer %s): fields must be an object", i, ls.name))
        end
      end
    end
    if spec.loss ~= nil then
      if type(spec.loss) ~= "table" or not loss_types[spec.loss.type] then
        bad("unknown loss " .. tostring(type(spec.loss) == "table" and spec.loss.type or spec.loss))
      end
    end
    local a = spec.accuracy
    if a ~= nil then
      if type(a) ~= "table" or (a.type ~= "CategoricalAccuracy" and a.type ~= "RegressionAccuracy") then
        bad("unknown accuracy " .. tostring(type(a) == "table" and a.type or a))
      end
      opt(a.binary, "boolean", "accuracy.binary")
      opt(a.precision, "number", "accuracy.precision")
    end
    local o = spec.optimizer
    if o ~= nil then
      if type(o) ~= "table" or not optimizer_fields[o.type] then
        bad("unknown optimizer " .. tostring(type(o) == "table" and o.type or o))
      end
      for _, f in ipairs(optimizer_fields[o.type]) do opt(o[f], "number", "optimizer." .. f) end
      opt(o.current_learning_rate, "number", "optimizer.current_learning_rate")
      if o.iterations ~= nil and math.type(o.iterations) ~= "integer" then
        bad("optimizer.iterations must be an integer, got " .. tostring(o.iterations))
      end
    end
  end

  -- the model of a checked spec (raises plain messages; M.load prefixes them)
  local function build(spec)
    local model = core.Model()
    for i, ls in ipairs(spec.layers) do
      local ctor = core[ls.type]
      local ok, layer = pcall(function()
        if ls.type == "Dense" then
          return ctor(ls.n_inputs, ls.n_neurons, { weight_regularizer_l1 = ls.weight_regularizer_l1,
            weight_regularizer_l2 = ls.weight_regularizer_l2, bias_regularizer_l1 = ls.bias_regularizer_l1,
            bias_regularizer_l2 = ls.bias_regularizer_l2 })
        elseif ls.type == "Dropout" then return ctor(ls.rate)
        elseif ls.type == "Conv2D" then
          return ctor(ls.in_channels, ls.out_channels, ls.kernel, { stride = ls.stride, padding = ls.padding,
            init = ls.init, weight_regularizer_l1 = ls.weight_regularizer_l1,
            weight_regularizer_l2 = ls.weight_regularizer_l2, bias_regularizer_l1 = ls.bias_regularizer_l1,
            bias_regularizer_l2 = ls.bias_regularizer_l2 })
        elseif ls.type == "MaxPool2D" then return ctor(ls.size, { stride = ls.stride })
        elseif ls.type == "BatchNormalization" then
          return ctor { momentum = ls.momentum, epsilon = ls.epsilon, features = ls.features }
        elseif ls.type == "Input" then return ctor(table.unpack(ls.shape or {}))
        elseif ls.type == "Lua" then
          local l = core._layer_class(ls.name).load(ls.fields or {})
          if not is_lua_layer(l) then
            error(string.format("%s.load returned %s, not a layer with forward and backward", ls.name, typename(l)), 0)
          end
          return l
        end
        return ctor()
      end)
      if not ok then
        error(string.format("layer %d (%s): %s", i, ls.type == "Lua" and "Lua layer " .. ls.name or ls.type,
          tostring(layer)), 0)
      end
      model:add(layer)
    end
    local set = {}
    if spec.loss then set.loss = core[spec.loss.type]() end
    local a = spec.accuracy
    if a then
      if a.type == "CategoricalAccuracy" then set.accuracy = core.CategoricalAccuracy { binary = a.binary or false }
      else
        set.accuracy = core.RegressionAccuracy()
        if a.precision then set.accuracy.precision = a.precision end
      end
    end
    local o = spec.optimizer
    if o then
      local args = {}
      for _, f in ipairs(optimizer_fields[o.type]) do args[f] = o[f] end
      local opt = core[o.type](args)
      opt.iterations = o.iterations or 0
      if o.current_learning_rate then opt.current_learning_rate = o.current_learning_rate end
      set.optimizer = opt
    end
    model:set(set)
    model:finalize()
    return model
  end

  -- M.load's work after the file was read; errors are plain messages
  local function load_model(tensors, meta, path, who)
    local function bad(msg) error(msg, 0) end
    if meta["lunet.model"] == nil then
      bad("no lunet model metadata (a file from save_parameters? use model:load_parameters)")
    end
    local ok, spec = pcall(core._json_decode, meta["lunet.model"])
    if not ok then bad("bad model metadata: " .. tostring(spec)) end
    checkspec(spec, tensors, bad)
    local model = build(spec)
    load_parameter_tensors(model, tensors, path, who)
    if spec.generator ~= nil then
      local set, err = pcall(model._set_rng_state, model, spec.generator)
      if not set then bad((tostring(err):gsub("^Model.load: generator: ", "generator: "))) end
    else
      model:seed(0) -- a file from before models owned generators
    end
    for i, ls in ipairs(spec.layers) do
      if ls.type == "BatchNormalization" and ls.num_batches_tracked then
        local l = model.layers[i]
        l:set_running(l.running_mean, l.running_var, ls.num_batches_tracked)
      end
    end
    local opt = model.optimizer
    if opt then
      for _, p in ipairs(trainable_positions(model)) do
        local st, any = {}, false
        if is_lua_layer(p[2]) then
          for _, s in ipairs(lua_state_names) do
            for j = 1, #lua_params(p[2]) do
              local t = tensors[string.format("optimizer.layers.%d.%s.%d", p[1], s, j)]
              if t then st[s] = st[s] or {}; st[s][j] = t; any = true end
            end
          end
        else
          for _, s in ipairs(state_names) do
            local t = tensors[string.format("optimizer.layers.%d.%s", p[1], s)]
            if t then st[s] = t; any = true end
          end
        end
        if any then
          local ok2, err = pcall(opt.set_state, opt, p[2], st)
          if not ok2 then bad(string.format("optimizer state of layer %d: %s", p[1], err)) end
        end
      end
    end
    return model
  end

  --- lunet.Model.load(path): a model saved with model:save, ready to predict
  -- or to resume training.  Every error reads "lunet.Model.load: <path>: ..."
  function M.load(path, ...)
    local who = "lunet.Model.load"
    if select("#", ...) > 0 then error(who .. ": takes one argument (path), got " .. select("#", ...) + 1, 2) end
    if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
    local tensors, meta = rethrow(2, who, pcall(safetensors.load, path))
    -- building the layers draws their first weights from the state's
    -- generator; the file's replace them, and the generator is left as it was
    local rng = core._rng_state()
    local ok, res = pcall(load_model, tensors, meta, path, who)
    core._set_rng_state(rng)
    if ok then return res end
    local msg = tostring(res):gsub("^[^\n]-lunet[/\\]model[%w_]*%.lua:%d+: ", "")
    local prefix = who .. ": " .. path .. ": "
    if msg:sub(1, #prefix) ~= prefix then msg = prefix .. msg end
    error(msg, 2)
  end
end
