"""Models and their cards: targets, input transforms, the torch networks and their training, ONNX
export and loading, the shipped models, metrics, baselines and the compatibility gate between an
input and a model. Never imports results or the command line."""
