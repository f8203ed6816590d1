"""Reading, normalising, validating and storing contract tables.

Reading a file: `ingest` (bytes to text cells), `normalise` and `validation` (the contract's
rules), `identifiers`; `loading` makes a `Dataset` of a folder, a file or a store. The store:
`storefile` (opening the file, damage, its tables), `upload` (the rules a file must pass to be
stored), `store` (batches, retraction, seeding; the DuckDB file), `pgstore` (the same store in
PostgreSQL, shared by several processes). The store builds on the upload rules and on
loading, both on `storefile`; an import contract (pyproject.toml) keeps it that way round.
"""
