// test/onnx_check.js DIR: ONNX Runtime (onnxruntime-web's WebAssembly build,
// run offline under node; the CI installs the pinned version from the npm
// registry) computes every model test/onnx_export.lua wrote and compares with
// model:predict's outputs (max |diff| <= 1e-5).  Prints "N passed, N failed".
const fs = require("fs");
const ort = require("onnxruntime-web");

ort.env.wasm.numThreads = 1;
const dir = process.argv[2];

function floats(path) {
  const b = fs.readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

(async () => {
  let passed = 0, failed = 0;
  for (const line of fs.readFileSync(dir + "/manifest.txt", "utf8").trim().split("\n")) {
    const [name, ...dims] = line.split(" ");
    try {
      const session = await ort.InferenceSession.create(fs.readFileSync(`${dir}/${name}.onnx`));
      const x = new ort.Tensor("float32", floats(`${dir}/${name}.x`), dims.map(Number));
      const out = (await session.run({ input: x })).output.data;
      const want = floats(`${dir}/${name}.p`);
      let diff = out.length === want.length ? 0 : Infinity;
      for (let i = 0; i < want.length && diff !== Infinity; i++) diff = Math.max(diff, Math.abs(out[i] - want[i]));
      const ok = diff <= 1e-5;
      if (ok) passed++; else failed++;
      console.log(`${ok ? "ok" : "FAILED"}: ${name}: ONNX Runtime ${ort.env.versions.web} predicts as model:predict (max |diff| ${diff.toPrecision(3)})`);
    } catch (e) {
      failed++;
      console.log(`FAILED: ${name}: ${e.message || e}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
