"""sha256 of every shipped pretrained model and card (written by scripts/build_pretrained.py)."""

CHECKSUMS = {
    "E003": {
        "onnx": "a48d3521aa0e9da882b7be8032f8bd1f3d022ccc6f59a19b76e1c985c72d4466",
        "card": "edef98637f714a10107308ebcd0009af0821c8490518037662c3d492b8a324ab",
    },
    "E003-E123": {
        "onnx": "6a6804faaba4e158c46b1ff2c3d48f1a258f0c11a886c72689f02e394557e4e2",
        "card": "980acc17874bc61360f9d0f1cbc6f1f60af69ba2dc29a2dc6c8a94f06d19e7b1",
    },
    "E003-E123-level": {
        "onnx": "f5410e6d60896120235f6f289a2895a692740e90f1cfc35a4e2361d275d5858a",
        "card": "07bf06a1296922f5fdfa49b75817c92fdbdce76fa5025c4be264ad903a1801e1",
    },
    "E003-level": {
        "onnx": "f22ca53a2a903a947cbd8b6c6f55b2cb6703afc27424d8fdde5d2e1918802bae",
        "card": "2e1fe879285c2d4dba85afa26768d69dc31582fa57f281d10ba34f42c15fcea1",
    },
    "E123": {
        "onnx": "86b1c34b2c5d76253af0fefe424979c671922c5a422556a5b6c60d4311ef1802",
        "card": "87017ccfbf758105b2a44982100e86543e7cb910b4abdd029164b18c01cb1b5d",
    },
    "E123-level": {
        "onnx": "dbee9ca53d1994fb08f667600949571bfb984551673c093d91c61472aa63eb61",
        "card": "3a269192441b71c1a8efb7bfc0ac3fb9d34b3a1d23aa7f1d5ba5dc069ad34634",
    },
}
