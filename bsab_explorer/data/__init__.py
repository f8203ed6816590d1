"""Reading, normalising, validating and storing contract tables.

Reading a file: `ingest` (bytes to text cells), `normalise` and `validation` (the contract's
rules), `identifiers`; `loading` makes a `Dataset` of a folder, a file or a store. The store:
`storefile` (opening the file, damage, its tables), `upload` (the rules a file must pass to be
stored), `store` (batches, retraction, seeding). Dependencies point down that list; an import
contract (pyproject.toml) keeps `loading` from importing the store.
"""
