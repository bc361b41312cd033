"""test/onnx_check.py DIR: python3-onnx's checker (Debian's onnx 1.12) on every
model test/onnx_export.lua wrote; also checks IR version 8 and opset 13-17.
Prints "N passed, N failed"."""
import sys

import onnx

passed = failed = 0
for line in open(sys.argv[1] + "/manifest.txt"):
    name = line.split()[0]
    try:
        model = onnx.load("%s/%s.onnx" % (sys.argv[1], name))
        onnx.checker.check_model(model, full_check=True)
        opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
        assert model.ir_version == 8, "IR version %d" % model.ir_version
        assert len(opset) == 1 and 13 <= opset[0] <= 17, "opset %s" % opset
        assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == ["output"]
        passed += 1
        print("ok: %s: onnx.checker (full_check) accepts it, IR 8, opset %d" % (name, opset[0]))
    except Exception as e:
        failed += 1
        print("FAILED: %s: %s" % (name, e))
print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
