"""`make cluster`: the API, workers and beat on separate network hosts (namespaces)."""
