"""Use-case tests: the services called directly, without HTTP, on a database rolled back after each
test (the `use_cases` fixture)."""
