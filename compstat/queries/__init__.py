"""Read-side SQL, one module per aggregate."""
