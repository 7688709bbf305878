"""Framework-free request handlers: a typed query and a connection in, plain data out."""
