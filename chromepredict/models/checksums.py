"""sha256 of every shipped pretrained model and card (written by scripts/build_pretrained.py)."""

CHECKSUMS = {
    "E003": {
        "onnx": "99fb82429b91956bd1f750d8773de72989dbd7725d4d1d7d5c2e4c9bf732bcfb",
        "card": "da63b2ac2d11dbad93a272c6b618daf253e17a171cb83b0a034c78b5a61d5fdb",
    },
    "E003-E123": {
        "onnx": "875e765ff424543caf2bcc93d1fd74baaa81c4518a9f761dd98c5f6e77cc433f",
        "card": "318a80967e54614a22e24a22226bb77a1910e3b2ca332aae096357ad724c9011",
    },
    "E003-E123-difference": {
        "onnx": "e73c69ebf9a6ff9a092c8d82abe0cee02225fec1a12a863b5e1dbfd2ce3d4637",
        "card": "8da1f88dee380565f611004bc57e980b2440ea0d01255d04579ca1433fd32703",
    },
    "E003-E123-level": {
        "onnx": "9ad5f700a81648630d0ec638de8573620cb21a3a539eeaf5e727c2c148206839",
        "card": "bd52c55799f03e09e8ec8a8565fadfb72a25de6bd6fe9cb8e37fa9c76e93cadb",
    },
    "E003-level": {
        "onnx": "c84107eec1581d04bef0ed0cab8af81efe99433e96e5c1ad9b44caf3352e4d73",
        "card": "cdf2e655028dc80c7739fd1299cfa0a49c765574420681c8c4621d247c138eb0",
    },
    "E123": {
        "onnx": "416994cdd5f52a47e231177cf05f8a88927f82fb60f6ddf03793734faf33b7df",
        "card": "b9d3d869011abd6e077bc39b68e54d5f5a4bd8c474d6dd61377386f332a300b5",
    },
    "E123-level": {
        "onnx": "5ad1be1da5d0de9d5de6b175446b4f2620495f68260a24348519cd483f41a5d2",
        "card": "36bbf408599a093cc1aa940a288fb85b4e482581eec22a74d39f05d6e17bc7bf",
    },
}
