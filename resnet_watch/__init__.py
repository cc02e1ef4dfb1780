"""resnet-watch: a self-hosted photo auto-tagger.

Photos dropped into an inbox folder are classified on the CPU and get a JSON
(and optionally XMP) sidecar next to them. Importing this package is cheap: ONNX Runtime is
loaded with the model, and torch only by the optional torch runtime and the model builders.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
