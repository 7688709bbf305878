"""Source readers and loaders that move public files into PostGIS."""
