"""QONNX export of the integer network (Pappalardo et al., "QONNX: Representing arbitrary-
precision quantized neural networks", arXiv:2206.07527).

The graph is written directly from the model file's integer datapath, so it is exact: inputs
pass a signed 8-bit ``Quant`` node (scale ``2**-input_frac``), each layer is ``MatMul`` with
the dequantised int8 weights and ``Add`` of the dequantised int32 bias, hidden layers a ``Relu``
and an unsigned 8-bit ``Quant`` (scale ``2**-out_frac``, round half to even). The output is
the scaled targets (log T1, log T2 in [0, 1], see ``OutputScaling``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..errors import MissingDependencyError
from ..model import MrfModel

QONNX_DOMAIN = "qonnx.custom_op.general"


def qonnx_model(model: MrfModel):
    """The QONNX ``onnx.ModelProto`` of ``model.int_net``."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise MissingDependencyError("QONNX export needs onnx: pip install onnx") from None
    net = model.int_net
    nodes, inits = [], []

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def quant(inp: str, out: str, frac: int, bits: int, signed: bool) -> None:
        tag = out
        nodes.append(
            helper.make_node(
                "Quant",
                [
                    inp,
                    const(f"{tag}_scale", 2.0**-frac),
                    const(f"{tag}_zeropt", 0.0),
                    const(f"{tag}_bitwidth", float(bits)),
                ],
                [out],
                domain=QONNX_DOMAIN,
                signed=int(signed),
                narrow=0,
                rounding_mode="ROUND",
            )
        )

    quant("features", "q_in", net.input_frac, net.input_bits, True)
    h, frac = "q_in", net.input_frac
    for i, layer in enumerate(net.layers):
        acc_frac = frac + layer.weight_frac
        w = const(f"layer{i}_weight", (layer.weight.T * 2.0**-layer.weight_frac))
        b = const(f"layer{i}_bias", layer.bias * 2.0**-acc_frac)
        nodes.append(helper.make_node("MatMul", [h, w], [f"layer{i}_mm"]))
        last = layer.out_frac is None
        out = "targets" if last else f"layer{i}_acc"
        nodes.append(helper.make_node("Add", [f"layer{i}_mm", b], [out]))
        if layer.out_frac is not None:  # a hidden layer
            nodes.append(helper.make_node("Relu", [out], [f"layer{i}_relu"]))
            quant(f"layer{i}_relu", f"layer{i}_q", layer.out_frac, layer.out_bits, False)
            h, frac = f"layer{i}_q", layer.out_frac
    graph = helper.make_graph(
        nodes,
        "mrfrecon_quantized_mlp",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", net.widths[0]])],
        [helper.make_tensor_value_info("targets", TensorProto.FLOAT, ["n", net.widths[-1]])],
        inits,
    )
    proto = helper.make_model(
        graph,
        producer_name="mrfrecon",
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)],
    )
    proto.doc_string = (
        f"mrfrecon quantised MLP for sequence {model.sequence_sha256}; "
        "inputs: standardised SVD features; outputs: (log T1, log T2) scaled "
        "to [0, 1] over the model's T1/T2 ranges in ms"
    )
    onnx.checker.check_model(proto)
    return proto


def export_qonnx(model: MrfModel, path: str | Path, *, overwrite: bool = False) -> Path:
    proto = qonnx_model(model)
    return atomic_write(path, proto.SerializeToString(), overwrite=overwrite)
