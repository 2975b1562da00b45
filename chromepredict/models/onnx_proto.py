"""Reading and writing ONNX graphs with protobuf alone (a dependency of onnxruntime): the few
messages and fields of the ONNX format (onnx.proto, IR version 3 and later) that
:mod:`chromepredict.models.subsets` reads and writes, declared here in a private descriptor pool.

The ``onnx`` package does the same and more, but it belongs to the ``train`` extra and its import
alone can take a second (its ml_dtypes); ``compare`` runs on onnxruntime without it. Fields not
declared here are kept as protobuf's unknown fields, so a message read and written again loses
nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

#: A message of the ONNX format (ModelProto, NodeProto, TensorProto…): its class is built at run time
#: (:func:`messages`), so it has no static type.
Message = Any

#: TensorProto.DataType → numpy dtype, for the types a network's constants use.
DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 11: np.float64}
#: AttributeProto.AttributeType
FLOAT, INT, STRING, TENSOR, FLOATS, INTS = 1, 2, 3, 4, 6, 7

_MESSAGES = {  # message → (field, number, type, repeated); types as in FieldDescriptorProto
    "OperatorSetIdProto": [("domain", 1, "string", False), ("version", 2, "int64", False)],
    "TensorProto": [
        ("dims", 1, "int64", True), ("data_type", 2, "int32", False), ("float_data", 4, "float", True),
        ("int32_data", 5, "int32", True), ("int64_data", 7, "int64", True), ("name", 8, "string", False),
        ("raw_data", 9, "bytes", False), ("double_data", 10, "double", True),
    ],
    "AttributeProto": [
        ("name", 1, "string", False), ("f", 2, "float", False), ("i", 3, "int64", False),
        ("s", 4, "bytes", False), ("t", 5, ".TensorProto", False), ("floats", 7, "float", True),
        ("ints", 8, "int64", True), ("type", 20, "int32", False),
    ],
    "NodeProto": [
        ("input", 1, "string", True), ("output", 2, "string", True), ("name", 3, "string", False),
        ("op_type", 4, "string", False), ("attribute", 5, ".AttributeProto", True), ("domain", 7, "string", False),
    ],
    "Dimension": [("dim_value", 1, "int64", False), ("dim_param", 2, "string", False)],
    "TensorShapeProto": [("dim", 1, ".Dimension", True)],
    "TensorTypeProto": [("elem_type", 1, "int32", False), ("shape", 2, ".TensorShapeProto", False)],
    "TypeProto": [("tensor_type", 1, ".TensorTypeProto", False)],
    "ValueInfoProto": [("name", 1, "string", False), ("type", 2, ".TypeProto", False)],
    "GraphProto": [
        ("node", 1, ".NodeProto", True), ("name", 2, "string", False), ("initializer", 5, ".TensorProto", True),
        ("input", 11, ".ValueInfoProto", True), ("output", 12, ".ValueInfoProto", True),
        ("value_info", 13, ".ValueInfoProto", True),
    ],
    "ModelProto": [
        ("ir_version", 1, "int64", False), ("graph", 7, ".GraphProto", False),
        ("opset_import", 8, ".OperatorSetIdProto", True),
    ],
}  # fmt: skip


@cache
def messages() -> dict[str, type]:
    """Message name → protobuf class (built once, in a descriptor pool of its own)."""
    from google.protobuf import descriptor_pb2, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    scalar = {
        "string": field.TYPE_STRING, "bytes": field.TYPE_BYTES, "int32": field.TYPE_INT32,
        "int64": field.TYPE_INT64, "float": field.TYPE_FLOAT, "double": field.TYPE_DOUBLE,
    }  # fmt: skip
    file = descriptor_pb2.FileDescriptorProto(name="chromepredict_onnx.proto", syntax="proto2")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, repeated in fields:
            entry = message.field.add(name=field_name, number=number)
            entry.label = field.LABEL_REPEATED if repeated else field.LABEL_OPTIONAL
            if kind.startswith("."):
                entry.type, entry.type_name = field.TYPE_MESSAGE, kind
            else:
                entry.type = scalar[kind]
    classes = message_factory.GetMessages([file])  # a pool of its own, not the default one
    return {name: classes[name] for name in _MESSAGES}


def load(data: bytes) -> Message:
    """A ModelProto from serialized bytes."""
    model = messages()["ModelProto"]()
    model.ParseFromString(data)
    return model


def to_array(tensor: Message) -> np.ndarray:
    """A TensorProto's values."""
    dtype = DTYPES.get(tensor.data_type)
    if dtype is None:
        raise ValueError(f"tensor {tensor.name} has data type {tensor.data_type}")
    if tensor.raw_data:
        values = np.frombuffer(tensor.raw_data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    else:
        stored = {1: tensor.float_data, 6: tensor.int32_data, 7: tensor.int64_data, 11: tensor.double_data}
        values = np.array(stored[tensor.data_type], dtype=dtype)
    return values.reshape(tuple(tensor.dims))


def from_array(values: np.ndarray, name: str = "") -> Message:
    """A TensorProto holding ``values`` (float32, float64, int32 or int64)."""
    values = np.asarray(values)
    code = next(c for c, d in DTYPES.items() if np.dtype(d) == values.dtype)
    return messages()["TensorProto"](
        name=name,
        dims=values.shape,
        data_type=code,
        raw_data=values.astype(values.dtype.newbyteorder("<")).tobytes(),
    )


def attribute(node: Message, name: str, default: Any = None) -> Any:
    """The value of ``node``'s attribute ``name`` (a number, list, bytes or TensorProto)."""
    for entry in node.attribute:
        if entry.name == name:
            return {FLOAT: entry.f, INT: entry.i, STRING: entry.s, TENSOR: entry.t,
                    FLOATS: list(entry.floats), INTS: list(entry.ints)}[entry.type]  # fmt: skip
    return default


def node(op_type: str, inputs: list[str], outputs: list[str], **attributes: Any) -> Message:
    """A NodeProto; attributes are ints, floats, lists of ints or numpy arrays (tensors)."""
    proto = messages()["NodeProto"](op_type=op_type, input=inputs, output=outputs)
    for key, value in attributes.items():
        entry = proto.attribute.add(name=key)
        if isinstance(value, np.ndarray):
            entry.type = TENSOR
            entry.t.CopyFrom(from_array(value))
        elif isinstance(value, (list, tuple)):
            entry.type = INTS
            entry.ints.extend(int(v) for v in value)
        elif isinstance(value, float):
            entry.type, entry.f = FLOAT, value
        else:
            entry.type, entry.i = INT, int(value)
    return proto


def value_info(name: str, elem_type: int, shape: list[int | str]) -> Message:
    """A ValueInfoProto of a tensor; ``shape`` holds numbers and names of dimensions."""
    proto = messages()["ValueInfoProto"](name=name)
    tensor = proto.type.tensor_type
    tensor.elem_type = elem_type
    for size in shape:
        dim = tensor.shape.dim.add()
        if isinstance(size, str):
            dim.dim_param = size
        else:
            dim.dim_value = size
    return proto
