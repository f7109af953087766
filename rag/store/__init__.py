"""Store: the Chroma collection of chunks with its article manifest and generations, and the
library operations over it (list, show, remove, stats).

connection (clients, collection handles) -> chunks, manifest, generations (one job each) ->
chroma (`ChunkStore`, which puts them together) -> library."""
