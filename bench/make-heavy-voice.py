#!/usr/bin/env python3
"""Writes a synthetic sherpa-onnx VITS voice that costs about what a small
neural voice costs, for bench/tts.mjs.

The shared synthetic voices (../shared/models/tts-synthetic) make 256 samples
of a sine per character in microseconds, so on them the TTS figures measure
only murmur's bookkeeping. This copies the characters-style graph and adds,
per character, a chain of dense layers (width 1024, 16 layers sharing one
weight matrix: about 34 MFLOP a character, a real-time factor near 0.1 on
one CPU thread, like a Piper voice) whose mean is mixed into the output at
1e-6, so ONNX Runtime must compute it. The audio is still the sine.

Needs Debian's python3-onnx:  python3 bench/make-heavy-voice.py OUT_DIR [--layers 16] [--width 1024]
"""
import argparse
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
models = os.environ.get('MURMUR_TEST_MODELS') or os.path.join(here, '..', '..', 'shared', 'models')
source = os.path.join(models, 'tts-synthetic', 'characters-style')

parser = argparse.ArgumentParser()
parser.add_argument('out')
parser.add_argument('--layers', type=int, default=16)
parser.add_argument('--width', type=int, default=1024)
args = parser.parse_args()

model = onnx.load(os.path.join(source, 'model.onnx'))
graph = model.graph
width = args.width
rng = np.random.default_rng(1)

# The sine's last node writes `y`: rename it, then y = sine + 1e-6 * mean(dense chain).
last = [n for n in graph.node if 'y' in n.output][0]
last.output[0] = 'y_sine'
graph.initializer.extend([
    numpy_helper.from_array(rng.standard_normal((1, width)).astype(np.float32) * 0.01, 'heavy_in'),
    numpy_helper.from_array(rng.standard_normal((width, width)).astype(np.float32) / np.sqrt(width), 'heavy_w'),
    numpy_helper.from_array(np.array(1e-6, dtype=np.float32), 'heavy_mix'),
    numpy_helper.from_array(np.array([2], dtype=np.int64), 'heavy_axis'),
])
nodes = [
    helper.make_node('Unsqueeze', ['xf', 'heavy_axis'], ['heavy_x']),  # [1, N, 1]
    helper.make_node('MatMul', ['heavy_x', 'heavy_in'], ['heavy_0']),  # [1, N, width]
]
for i in range(args.layers):
    nodes.append(helper.make_node('MatMul', [f'heavy_{i}', 'heavy_w'], [f'heavy_mm_{i}']))
    nodes.append(helper.make_node('Tanh', [f'heavy_mm_{i}'], [f'heavy_{i + 1}']))
nodes += [
    helper.make_node('ReduceMean', [f'heavy_{args.layers}'], ['heavy_mean'], keepdims=0),
    helper.make_node('Mul', ['heavy_mean', 'heavy_mix'], ['heavy_scaled']),
    helper.make_node('Add', ['y_sine', 'heavy_scaled'], ['y']),
]
graph.node.extend(nodes)
for prop in model.metadata_props:
    if prop.key == 'comment':
        prop.value = f'synthetic heavy voice for benchmarks: {args.layers} dense layers of {width} per character'
onnx.checker.check_model(model)

os.makedirs(args.out, exist_ok=True)
onnx.save(model, os.path.join(args.out, 'model.onnx'))
shutil.copy(os.path.join(source, 'tokens.txt'), os.path.join(args.out, 'tokens.txt'))
print(f'{args.out}: {args.layers} layers of {width}, {os.path.getsize(os.path.join(args.out, "model.onnx")) / 1e6:.1f} MB')
