"""sha256 of every shipped pretrained model and card (written by scripts/build_pretrained.py)."""

CHECKSUMS = {
    "E003": {
        "onnx": "99fb82429b91956bd1f750d8773de72989dbd7725d4d1d7d5c2e4c9bf732bcfb",
        "card": "c2e12b6dbfe15cbbc4425a0b17643343f486b974488b6b8979a70149c76ae50e",
    },
    "E003-E123": {
        "onnx": "875e765ff424543caf2bcc93d1fd74baaa81c4518a9f761dd98c5f6e77cc433f",
        "card": "b56b47d59e1faeabfe9dcb2ca0b9fca29e7189ff204f1422300245b0fa5fbca9",
    },
    "E003-E123-difference": {
        "onnx": "017bdf6ede50017880eefea16b4d39e3341f197c44fa0644d3a34d9e34ac658c",
        "card": "fc4000164e4ff0656c2cd0571017fc6944eea0aace74a528af8c30e4bf866197",
    },
    "E003-E123-level": {
        "onnx": "9ad5f700a81648630d0ec638de8573620cb21a3a539eeaf5e727c2c148206839",
        "card": "3eac282349d4bac51cad1b7a7f5a09769513ec65cc5dfcf5c74cce9045423aaa",
    },
    "E003-level": {
        "onnx": "c84107eec1581d04bef0ed0cab8af81efe99433e96e5c1ad9b44caf3352e4d73",
        "card": "b0f0dce17749969002f7f0fe3a747f9b4f0981da07b94048fed383be1aa92526",
    },
    "E123": {
        "onnx": "416994cdd5f52a47e231177cf05f8a88927f82fb60f6ddf03793734faf33b7df",
        "card": "12d1b0398e1ca2a2e3543014baf1d7ac52ee928b3f7e1bbac4fd3edde50286af",
    },
    "E123-level": {
        "onnx": "5ad1be1da5d0de9d5de6b175446b4f2620495f68260a24348519cd483f41a5d2",
        "card": "bbb88dee1ab90f26db7cbfb484ce8174ef38c5152ecc88bf65b10594c04b79fc",
    },
}
