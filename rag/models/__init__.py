"""Models: the embedders (offline MiniLM ONNX, OpenAI) and the OpenAI client they share."""
