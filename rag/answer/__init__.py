"""Answer: passages -> an answer with [n] markers: the offline extractive answerer, the chat-model
answerer, the decline rule, claim verification and the answer's data model."""
