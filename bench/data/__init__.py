"""The data a run measures on: a data set's spec (bench.data.spec), its rows, generated deterministically
(bench.data.datagen), and the COPY loader that puts them into a reusable source schema (bench.data.load)."""
